//! Value encoding: a format-version byte followed by postcard.

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::StoreError;

/// The version byte in front of every stored value and event.
pub const FORMAT_VERSION: u8 = 1;

/// Encodes a value as `[FORMAT_VERSION] ++ postcard(value)`.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_extend(value, vec![FORMAT_VERSION]).map_err(|e| StoreError::Encode(e.to_string()))
}

/// True when `stored` is exactly the encoding of `value`: postcard's encoding is canonical,
/// so this is value equality without decoding (or, for small values, allocating).
pub fn encodes_to<T: Serialize>(value: &T, stored: &[u8]) -> bool {
    let Some((&FORMAT_VERSION, body)) = stored.split_first() else {
        return false;
    };
    let mut buf = [0u8; 512];
    match postcard::to_slice(value, &mut buf) {
        Ok(used) => used == body,
        Err(_) => encode(value).is_ok_and(|v| v.as_slice() == stored),
    }
}

/// Decodes a stored value; a bad value is an error naming its table and key.
pub fn decode<T: DeserializeOwned>(
    table: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    decode_borrowed(table, key, bytes)
}

/// [`decode`] into a type that borrows from `bytes` (a leading-fields view of a value).
pub fn decode_borrowed<'a, T: Deserialize<'a>>(
    table: &'static str,
    key: &[u8],
    bytes: &'a [u8],
) -> Result<T, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        table,
        key: String::from_utf8_lossy(key).into_owned(),
        reason,
    };
    match bytes.split_first() {
        Some((&FORMAT_VERSION, body)) => {
            postcard::from_bytes(body).map_err(|e| corrupt(format!("cannot decode: {e}")))
        }
        Some((v, _)) => Err(corrupt(format!("unknown format version {v}"))),
        None => Err(corrupt("empty value".into())),
    }
}
