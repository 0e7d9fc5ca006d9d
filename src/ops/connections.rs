//! Connections and their schedules.

use crate::arm::Secret;
use crate::domain::clean_hierarchy;
use crate::domain::connection::{validate_name, Connection, Schedule, SCHEDULE_EVERY_S_DEFAULT};
use crate::domain::normalize::is_known_region;
use crate::store::{Entity, Reader, TxRecord};

use super::{secrets, Ctx, OpError, OpResult};

/// Checks a connection and returns it with its hierarchy cleaned.
fn checked(mut conn: Connection) -> OpResult<Connection> {
    validate_name(&conn.name).map_err(OpError::Invalid)?;
    conn.hierarchy = clean_hierarchy(&conn.hierarchy)
        .map_err(|e| OpError::Invalid(format!("connection {}: {e}", conn.name)))?
        .to_string();
    crate::arm::Endpoint::parse(&conn.url, Some(&conn.base_path))
        .map_err(|e| OpError::Invalid(format!("connection {}: {e}", conn.name)))?;
    if let Some(r) = &conn.region {
        if !is_known_region(r) {
            return Err(OpError::Invalid(format!(
                "connection {}: region {r:?} is not known; use one of {}",
                conn.name,
                crate::domain::normalize::known_regions()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    if let Some(pin) = &conn.pin_sha256 {
        crate::arm::TlsTrust::pin_from_hex(pin).map_err(|e| OpError::Invalid(e.to_string()))?;
    }
    Ok(conn)
}

/// Creates a connection, its secret and its inactive schedule.
pub fn add(ctx: &Ctx<'_>, conn: Connection, secret: &Secret) -> OpResult<Option<TxRecord>> {
    let conn = checked(conn)?;
    if ctx
        .store
        .read()?
        .get::<Connection>(Entity::Connection, conn.name.as_bytes())?
        .is_some()
    {
        return Err(OpError::Invalid(format!(
            "connection {} already exists; change it with `connections update`",
            conn.name
        )));
    }
    let every_s = ctx
        .store
        .read()?
        .setting(crate::domain::settings::SCHEDULE_DEFAULT_EVERY)?
        .and_then(|v| crate::domain::connection::parse_interval(&v).ok())
        .unwrap_or(SCHEDULE_EVERY_S_DEFAULT);
    secrets::store_secret(ctx.store, &conn.name, Some(secret))?;
    let schedule = Schedule {
        name: conn.schedule_name(),
        connection: conn.name.clone(),
        every_s,
        active: false,
    };
    let w = ctx
        .store
        .write("connections.add", &ctx.actor, ctx.now, |w| {
            w.put(Entity::Connection, conn.name.as_bytes(), &conn)?;
            w.put(Entity::Schedule, schedule.name.as_bytes(), &schedule)?;
            Ok::<_, OpError>(())
        })?;
    Ok(w.tx)
}

/// Replaces a connection's settings (and its secret when one is given).
pub fn update(
    ctx: &Ctx<'_>,
    conn: Connection,
    secret: Option<&Secret>,
) -> OpResult<Option<TxRecord>> {
    let conn = checked(conn)?;
    get(&ctx.store.read()?, &conn.name)?;
    if let Some(s) = secret {
        secrets::store_secret(ctx.store, &conn.name, Some(s))?;
    }
    let w = ctx
        .store
        .write("connections.update", &ctx.actor, ctx.now, |w| {
            w.put(Entity::Connection, conn.name.as_bytes(), &conn)?;
            Ok::<_, OpError>(())
        })?;
    Ok(w.tx)
}

/// Deletes a connection and its schedule. Its cached users must be purged first, so no
/// number is left held by a connection that no longer exists.
pub fn delete(ctx: &Ctx<'_>, name: &str) -> OpResult<Option<TxRecord>> {
    let reader = ctx.store.read()?;
    let conn = get(&reader, name)?;
    let mut prefix = name.as_bytes().to_vec();
    prefix.push(0);
    let users: Vec<(Vec<u8>, crate::domain::device::CachedUser)> =
        reader.scan(Entity::RegisteredUser, &prefix)?;
    if !users.is_empty() {
        return Err(OpError::Invalid(format!(
            "connection {name} still caches {} registered users; run `numinv purge {name}` first",
            users.len()
        )));
    }
    drop(reader);
    let w = ctx
        .store
        .write("connections.delete", &ctx.actor, ctx.now, |w| {
            w.delete(Entity::Connection, name.as_bytes())?;
            w.delete(Entity::Schedule, conn.schedule_name().as_bytes())?;
            Ok::<_, OpError>(())
        })?;
    secrets::store_secret(ctx.store, name, None)?;
    Ok(w.tx)
}

pub fn get(reader: &Reader, name: &str) -> OpResult<Connection> {
    reader
        .get(Entity::Connection, name.as_bytes())?
        .ok_or_else(|| {
            OpError::NotFound(format!(
                "connection {name:?} does not exist; see `numinv connections list`"
            ))
        })
}

pub fn list(reader: &Reader) -> OpResult<Vec<Connection>> {
    Ok(reader
        .scan(Entity::Connection, b"")?
        .into_iter()
        .map(|(_, c)| c)
        .collect())
}

pub fn schedules(reader: &Reader) -> OpResult<Vec<Schedule>> {
    Ok(reader
        .scan(Entity::Schedule, b"")?
        .into_iter()
        .map(|(_, s)| s)
        .collect())
}

/// Changes a schedule's interval and/or activity.
pub fn set_schedule(
    ctx: &Ctx<'_>,
    name: &str,
    every_s: Option<u64>,
    active: Option<bool>,
) -> OpResult<Schedule> {
    let mut s: Schedule = ctx
        .store
        .read()?
        .get(Entity::Schedule, name.as_bytes())?
        .ok_or_else(|| {
            OpError::NotFound(format!(
                "schedule {name:?} does not exist; see `numinv schedules list`"
            ))
        })?;
    if let Some(e) = every_s {
        s.every_s = e;
    }
    if let Some(a) = active {
        s.active = a;
    }
    ctx.store.write("schedules.set", &ctx.actor, ctx.now, |w| {
        w.put(Entity::Schedule, s.name.as_bytes(), &s)?;
        Ok::<_, OpError>(())
    })?;
    Ok(s)
}
