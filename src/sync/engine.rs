//! Fetch and apply.

use crate::arm::{self, ArmClient, ArmError, Auth, ClientConfig, Endpoint, PageProgress, TlsTrust};
use crate::domain::connection::{AuthMethod, Connection};
use crate::domain::device::{delete_guard, diff_users, CachedSide, CachedUser, FetchedUsers};
use crate::domain::lifecycle::{self, Held};
use crate::domain::settings::{self, audiocodes_cooling_days};
use crate::domain::Status;
use crate::ops::{secrets, Ctx, OpError, OpResult};
use crate::store::{decode, encodes_to, Entity, Store, StoreError, TxRecord, TxStatus, Writer};

/// Knobs of one sync run.
#[derive(Clone, Copy, Debug, Default)]
pub struct SyncOptions {
    /// Pass the delete guard.
    pub force: bool,
}

/// The client configuration of a stored connection, with its decrypted secret.
pub fn client_config(store: &Store, conn: &Connection) -> OpResult<ClientConfig> {
    let secret = secrets::load_secret(store, &conn.name)?;
    let endpoint = Endpoint::parse(&conn.url, Some(&conn.base_path))
        .map_err(|e| OpError::Invalid(e.to_string()))?;
    let auth = match conn.auth_method {
        AuthMethod::Basic => Auth::Basic {
            username: conn.username.clone(),
            password: secret,
        },
        AuthMethod::Session => Auth::Session {
            username: conn.username.clone(),
            password: secret,
        },
        AuthMethod::Oauth => Auth::OAuth {
            token_url: conn
                .token_url
                .clone()
                .unwrap_or_else(|| "/oauth2/token".into()),
            client_id: conn.username.clone(),
            client_secret: secret,
            scope: conn.scope.clone(),
        },
    };
    let tls = match (&conn.pin_sha256, &conn.ca_pem) {
        (Some(pin), _) => {
            TlsTrust::pin_from_hex(pin).map_err(|e| OpError::Invalid(e.to_string()))?
        }
        (None, Some(pem)) => TlsTrust::CaPem(pem.as_bytes().to_vec()),
        (None, None) => TlsTrust::SystemRoots,
    };
    let mut cfg = ClientConfig::new(endpoint, auth, tls);
    cfg.page_size = conn.page_size.clamp(1, 1000);
    cfg.request_timeout_ms = conn.timeout_ms;
    Ok(cfg)
}

/// Fetches every registered user of a connection, or fails: never a partial list.
pub async fn fetch_users(
    cfg: ClientConfig,
    on_page: &mut (dyn FnMut(PageProgress) + Send),
) -> Result<Vec<arm::RegisteredUser>, ArmError> {
    let client = ArmClient::new(cfg)?;
    client.fetch_all_users_with(on_page).await
}

/// Fetches every registered user of a connection in the cached form, normalizing each
/// page as it arrives; or fails: never a partial list.
pub async fn fetch_cached(
    cfg: ClientConfig,
    conn: &Connection,
    on_page: &mut (dyn FnMut(PageProgress) + Send),
) -> Result<FetchedUsers, ArmError> {
    let client = ArmClient::new(cfg)?;
    let users = client
        .fetch_all_users_as(on_page, |u| cached_pair(conn, &u))
        .await?;
    Ok(users.into_iter().collect())
}

fn cached_pair(conn: &Connection, u: &arm::RegisteredUser) -> (String, CachedUser) {
    let cached = CachedUser::from_device(
        &u.node_id,
        u.node_name.as_deref().unwrap_or(""),
        &u.aor,
        u.online(),
        &conn.hierarchy,
        conn.region.as_deref(),
    );
    (u.key.clone(), cached)
}

/// Normalizes fetched users into the cached form, in user-key order.
pub fn to_cached(conn: &Connection, users: &[arm::RegisteredUser]) -> FetchedUsers {
    users.iter().map(|u| cached_pair(conn, u)).collect()
}

/// A cached user as stored: compared by its encoding, decoded only when it changed or went.
struct StoredUser {
    row_key: Vec<u8>,
    bytes: Vec<u8>,
}

impl CachedSide for StoredUser {
    type Error = StoreError;
    fn same_as(&self, fetched: &CachedUser) -> bool {
        encodes_to(fetched, &self.bytes)
    }
    fn user(&self) -> Result<CachedUser, StoreError> {
        decode(
            Entity::RegisteredUser.table_name(),
            &self.row_key,
            &self.bytes,
        )
    }
}

fn user_row_key(conn: &str, user_key: &str) -> Vec<u8> {
    let mut k = conn.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(user_key.as_bytes());
    k
}

/// Applies a complete fetch (or, for purge, an empty one) inside one change: diff against
/// this connection's cache, the delete guard, then the lifecycle rules for every number
/// whose holders changed, reference-counted across all connections.
pub fn apply_users(
    w: &mut Writer<'_>,
    conn: &Connection,
    fetched: &FetchedUsers,
    opts: SyncOptions,
) -> OpResult<()> {
    let now = w.now();
    let prefix = user_row_key(&conn.name, "");
    let cached = w.rows(Entity::RegisteredUser, &prefix)?.map(|row| {
        let (row_key, bytes) = row?;
        let key = String::from_utf8_lossy(&row_key[prefix.len()..]).into_owned();
        Ok((key, StoredUser { row_key, bytes }))
    });
    let diff = diff_users(cached, fetched)?;
    let threshold = w
        .macro_value(&conn.hierarchy, settings::DELETE_THRESHOLD_AUDIOCODES)?
        .and_then(|v| v.trim().parse::<u64>().ok());
    delete_guard(diff.removed.len(), diff.cached, threshold, opts.force)
        .map_err(OpError::Invalid)?;

    for (key, user) in diff.added.iter().chain(&diff.updated) {
        w.put(
            Entity::RegisteredUser,
            &user_row_key(&conn.name, key),
            *user,
        )?;
    }
    for key in &diff.removed {
        w.delete(Entity::RegisteredUser, &user_row_key(&conn.name, key))?;
    }
    w.tx.count("users_total", fetched.len() as u64);
    w.tx.count("users_added", diff.added.len() as u64);
    w.tx.count("users_updated", diff.updated.len() as u64);
    w.tx.count("users_removed", diff.removed.len() as u64);

    let mut unmapped: Vec<(&String, &CachedUser)> = fetched
        .iter()
        .filter(|(_, u)| u.unmapped.is_some())
        .collect();
    unmapped.sort_by(|a, b| a.0.cmp(b.0));
    w.tx.count("unmapped", unmapped.len() as u64);
    for (key, u) in unmapped {
        w.tx.note(format!(
            "unmapped: user {key} on node {} sent AOR {:?}: {}",
            u.node_id,
            u.aor,
            u.unmapped.as_deref().unwrap_or("")
        ));
    }

    for number_key in &diff.affected {
        reconcile_number(w, conn, number_key, now)?;
    }
    if w.tx.get("conflicts") > 0 || w.tx.get("unmapped") > 0 {
        w.tx.status = TxStatus::SuccessWithWarnings;
    }
    w.keep_record();
    Ok(())
}

/// Applies the lifecycle rule to one number whose holders may have changed.
pub fn reconcile_number(
    w: &mut Writer<'_>,
    conn: &Connection,
    number_key: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> OpResult<()> {
    let existing = w.entry(number_key)?;
    if w.is_held(number_key)? {
        let number = number_key.split_once('@').map_or(number_key, |(n, _)| n);
        let hierarchy = number_key
            .split_once('@')
            .map_or(conn.hierarchy.as_str(), |(_, h)| h);
        let was_cooling = existing
            .as_ref()
            .is_some_and(|e| e.status == Status::Cooling);
        match lifecycle::on_held(existing.as_ref(), number, hierarchy, now) {
            Held::Create(e) => {
                w.put_entry(&e)?;
                w.tx.count("entries_created", 1);
            }
            Held::Update(e) => {
                w.put_entry(&e)?;
                w.tx.count(
                    if was_cooling {
                        "entries_restored"
                    } else {
                        "entries_used"
                    },
                    1,
                );
            }
            Held::Unchanged => {}
            Held::Conflict(c) => {
                w.tx.count("conflicts", 1);
                w.tx.note(format!(
                    "conflict: {number_key} is {c}; a device registers it, left unchanged"
                ));
            }
        }
    } else if let Some(e) = existing {
        let (days, warning) = audiocodes_cooling_days(
            w.macro_value(&e.hierarchy, settings::AUDIOCODES_COOLING_DURATION)?
                .as_deref(),
        );
        if let Some(next) = lifecycle::on_released(&e, days, now) {
            if let Some(warn) = warning {
                tracing::warn!("{warn}");
                w.tx.note(warn);
            }
            w.put_entry(&next)?;
            w.tx.count("entries_cooled", 1);
        }
    }
    Ok(())
}

/// Loads a connection by name (or by its `SyncAudioCodes__` / `PurgeAudioCodes__` job name).
pub fn load_connection(store: &Store, name: &str) -> OpResult<Connection> {
    let name = name
        .strip_prefix(crate::domain::connection::SYNC_JOB_PREFIX)
        .or_else(|| name.strip_prefix(crate::domain::connection::PURGE_JOB_PREFIX))
        .unwrap_or(name);
    store
        .read()?
        .get(Entity::Connection, name.as_bytes())?
        .ok_or_else(|| {
            OpError::NotFound(format!(
                "connection {name:?} does not exist; see `numinv connections list`"
            ))
        })
}

/// One sync: fetch (async), then apply (blocking) with the time read *after* the fetch. A
/// failure is recorded as a `Fail` transaction and changes nothing else.
pub async fn run_sync(
    store: &Store,
    clock: &dyn crate::clock::Clock,
    conn: &Connection,
    opts: SyncOptions,
    on_page: &mut (dyn FnMut(PageProgress) + Send),
) -> OpResult<TxRecord> {
    run_sync_tuned(store, clock, conn, opts, &|_| {}, on_page).await
}

/// [`run_sync`] with a hook that adjusts the client configuration before the fetch. The
/// deterministic simulation test uses it to shrink retry backoffs, so hundreds of faulty
/// syncs stay cheap; the product always calls [`run_sync`].
pub async fn run_sync_tuned(
    store: &Store,
    clock: &dyn crate::clock::Clock,
    conn: &Connection,
    opts: SyncOptions,
    tune: &(dyn Fn(&mut ClientConfig) + Sync),
    on_page: &mut (dyn FnMut(PageProgress) + Send),
) -> OpResult<TxRecord> {
    let started = clock.now();
    let fetched = match client_config(store, conn) {
        Ok(mut cfg) => {
            tune(&mut cfg);
            fetch_cached(cfg, conn, on_page)
                .await
                .map_err(|e| OpError::Invalid(e.to_string()))
        }
        Err(e) => Err(e),
    };
    let result = fetched.and_then(|cached| {
        let ctx = Ctx::new(store, clock.now(), conn.actor());
        ctx.store
            .write(&conn.sync_job(), &ctx.actor, ctx.now, |w| {
                apply_users(w, conn, &cached, opts)
            })
            .and_then(|written| written.tx.ok_or_else(no_record))
    });
    result.or_else(|e| {
        store.record_failure(
            &conn.sync_job(),
            &conn.actor(),
            started,
            clock.now(),
            &e.to_string(),
            Default::default(),
        )?;
        Err(e)
    })
}

/// `apply_users` always keeps its record; this is the error if that ever breaks.
fn no_record() -> OpError {
    OpError::Invalid("internal error: the run left no transaction record; please report it".into())
}

/// Purge: forget the connection's cached users without asking the device; their numbers
/// cool, under the same delete guard.
pub fn purge(ctx: &Ctx<'_>, conn: &Connection, opts: SyncOptions) -> OpResult<TxRecord> {
    let empty = FetchedUsers::new();
    let r = ctx
        .store
        .write(&conn.purge_job(), &ctx.actor, ctx.now, |w| {
            apply_users(w, conn, &empty, opts)
        });
    match r {
        Ok(written) => written.tx.ok_or_else(no_record),
        Err(e) => {
            ctx.store.record_failure(
                &conn.purge_job(),
                &ctx.actor,
                ctx.now,
                ctx.now,
                &e.to_string(),
                Default::default(),
            )?;
            Err(e)
        }
    }
}
