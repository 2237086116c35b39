//! Turning raw arguments and the environment into validated settings.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use evault_core::{Actor, EvidenceKind, OrderId, Vault};

use crate::cli::Global;

/// The vault directory from `--vault` / `EVAULT_VAULT`.
pub fn vault_dir(global: &Global) -> Result<PathBuf> {
    global
        .vault
        .clone()
        .ok_or_else(|| anyhow!("no vault given: pass --vault DIR or set EVAULT_VAULT (create one with `evault init --vault DIR`)"))
}

/// The vault's URL when it lives on object storage (`s3://`, `gs://`).
pub fn object_store_url(global: &Global) -> Option<&str> {
    global
        .vault
        .as_deref()
        .and_then(|v| v.to_str())
        .filter(|s| s.starts_with("s3://") || s.starts_with("gs://"))
}

/// The working copy of the vault on object storage at `url`.
pub fn workdir(global: &Global, url: &str) -> Result<PathBuf> {
    if let Some(dir) = &global.workdir {
        return Ok(dir.clone());
    }
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let cache = env("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or_else(|| {
            anyhow!(
                "no place for the working copy of {url}: pass --workdir DIR or set EVAULT_WORKDIR"
            )
        })?;
    let (scheme, rest) = url.split_once("://").unwrap_or(("s3", url));
    let mut dir = cache.join("evault").join(scheme);
    for part in rest
        .split('/')
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
    {
        dir.push(part);
    }
    Ok(dir)
}

/// Opens the vault (a directory, or its working copy when it lives on
/// object storage).
pub fn open(global: &Global) -> Result<Vault> {
    if let Some(url) = object_store_url(global) {
        let dir = workdir(global, url)?;
        return Vault::open_remote(url, &dir)
            .with_context(|| format!("opening {url} (working copy {})", dir.display()));
    }
    Ok(Vault::open(vault_dir(global)?)?)
}

/// The operator and station.
pub fn actor(global: &Global) -> Result<Actor> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let operator = global
        .by
        .clone()
        .or_else(|| env("EVAULT_OPERATOR"))
        .or_else(|| env("USER"))
        .or_else(|| env("USERNAME"))
        .ok_or_else(|| anyhow!("who is recording? pass --by NAME or set EVAULT_OPERATOR"))?;
    let station = global
        .station
        .clone()
        .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned());
    Actor::new(operator, station)
        .context("check --by / EVAULT_OPERATOR and --station / EVAULT_STATION")
}

/// The signing key, when `--key` / `EVAULT_KEY` names one.
pub fn key(global: &Global) -> Result<Option<evault_core::StationKey>> {
    global
        .key
        .as_deref()
        .map(|p| evault_core::StationKey::load(p).context("check --key / EVAULT_KEY"))
        .transpose()
}

/// The TSA trust anchors from `--tsa-ca` / `EVAULT_TSA_CA` (none when not given).
pub fn tsa_anchors(global: &Global) -> Result<evault_core::timestamp::Anchors> {
    match &global.tsa_ca {
        Some(path) => {
            evault_core::timestamp::Anchors::load(path).context("check --tsa-ca / EVAULT_TSA_CA")
        }
        None => Ok(evault_core::timestamp::Anchors::none()),
    }
}

/// Parses an order id.
pub fn order(raw: &str) -> Result<OrderId> {
    Ok(raw.parse::<OrderId>()?)
}

/// Parses an optional kind.
pub fn kind(raw: Option<&str>) -> Result<Option<EvidenceKind>> {
    raw.map(str::parse).transpose().map_err(Into::into)
}
