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

/// Opens the vault.
pub fn open(global: &Global) -> Result<Vault> {
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
