//! Connection passwords: encrypted with a key file kept beside the database (mode 0600).
//! The plain text exists only in memory, on its way to the device.

use std::path::{Path, PathBuf};

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use super::{OpError, OpResult};
use crate::arm::Secret;
use crate::store::Store;

/// The key file, beside the database.
pub const KEY_FILE: &str = "numinv.key";
const KEY_LEN: usize = 32;

fn key_path(store: &Store) -> OpResult<PathBuf> {
    store
        .dir()
        .map(|d| d.join(KEY_FILE))
        .ok_or_else(|| OpError::Invalid("an in-memory store cannot keep secrets".into()))
}

/// The key file's bytes, or `None` when there is none yet.
fn read_key(path: &Path) -> OpResult<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(OpError::Invalid(format!(
            "cannot read key file {}: {e}; check its owner and mode (0600, the service's user)",
            path.display()
        ))),
    }
}

fn load_or_create_key(path: &Path) -> OpResult<LessSafeKey> {
    let bytes = match read_key(path)? {
        Some(b) => b,
        None => {
            let mut key = [0u8; KEY_LEN];
            SystemRandom::new()
                .fill(&mut key)
                .map_err(|_| OpError::Invalid("no random source to make a key".into()))?;
            write_private(path, &key)?;
            key.to_vec()
        }
    };
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, &bytes).map_err(|_| {
        OpError::Invalid(format!(
            "key file {} is damaged (not {KEY_LEN} bytes); restore it from backup",
            path.display()
        ))
    })?;
    Ok(LessSafeKey::new(unbound))
}

fn write_private(path: &Path, bytes: &[u8]) -> OpResult<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| OpError::Invalid(format!("cannot create key file {}: {e}", path.display())))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| OpError::Invalid(format!("cannot write key file {}: {e}", path.display())))
}

/// Copies the key file into a backup directory (mode 0600), so the copy's connection
/// passwords can still be decrypted. A store that never kept a secret has no key: `false`.
pub fn backup_key(store: &Store, dir: &Path) -> OpResult<bool> {
    let Some(bytes) = read_key(&key_path(store)?)? else {
        return Ok(false);
    };
    write_private(&dir.join(KEY_FILE), &bytes)?;
    Ok(true)
}

/// Encrypts and stores the secret of a connection (`None` removes it).
pub fn store_secret(store: &Store, connection: &str, secret: Option<&Secret>) -> OpResult<()> {
    let Some(secret) = secret else {
        store.put_secret(connection, None)?;
        return Ok(());
    };
    let key = load_or_create_key(&key_path(store)?)?;
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| OpError::Invalid("no random source for a nonce".into()))?;
    let mut data = secret.expose().as_bytes().to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(connection.as_bytes()),
        &mut data,
    )
    .map_err(|_| OpError::Invalid("cannot encrypt the password".into()))?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&data);
    store.put_secret(connection, Some(&sealed))?;
    Ok(())
}

/// Reads and decrypts the secret of a connection.
pub fn load_secret(store: &Store, connection: &str) -> OpResult<Secret> {
    let sealed = store.secret(connection)?.ok_or_else(|| {
        OpError::Invalid(format!(
            "connection {connection} has no stored password; set one with `connections update {connection} --password-file F`"
        ))
    })?;
    let key = load_or_create_key(&key_path(store)?)?;
    if sealed.len() < NONCE_LEN {
        return Err(OpError::Invalid(format!(
            "stored password of {connection} is damaged; set it again"
        )));
    }
    let (nonce, data) = sealed.split_at(NONCE_LEN);
    let mut data = data.to_vec();
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| {
        OpError::Invalid(format!(
            "stored password of {connection} is damaged; set it again"
        ))
    })?;
    let plain = key
        .open_in_place(nonce, Aad::from(connection.as_bytes()), &mut data)
        .map_err(|_| {
            OpError::Invalid(format!(
                "cannot decrypt the password of {connection}: the key file {KEY_FILE} does not match; restore it or set the password again"
            ))
        })?;
    let text = String::from_utf8(plain.to_vec()).map_err(|_| {
        OpError::Invalid(format!(
            "stored password of {connection} is damaged; set it again"
        ))
    })?;
    Ok(Secret::new(text))
}
