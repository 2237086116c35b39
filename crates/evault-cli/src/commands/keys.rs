//! `evault key new|add|list`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use evault_core::{PublicKey, StationKey};

use crate::cli::Global;
use crate::{Status, out, settings};

/// Where a new private key goes by default.
fn default_key_path(name: &str) -> Result<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = env("XDG_CONFIG_HOME")
        .or_else(|| env("HOME").map(|h| h.join(".config")))
        .ok_or_else(|| {
            anyhow!("no HOME or XDG_CONFIG_HOME to keep the private key in; pass --out FILE")
        })?;
    Ok(base.join("evault").join("keys").join(format!("{name}.pem")))
}

pub fn new(g: &Global, name: &str, out: Option<&Path>) -> Result<Status> {
    let vault = settings::open(g)?;
    let key = StationKey::generate(name)?;
    let path = match out {
        Some(p) => p.to_owned(),
        None => default_key_path(name)?,
    };
    if path.exists() {
        anyhow::bail!(
            "{} already exists; choose another --out file (keys are never overwritten)",
            path.display()
        );
    }
    let public = key.public();
    // The public key first: a name already taken leaves no orphan private key.
    vault.add_key(&public)?;
    key.save(&path).with_context(|| {
        format!("the public key was registered as {name}, but the private key could not be written")
    })?;
    out!(
        "key {name}: private key {} (mode 0600, keep it off the vault), public key registered in the vault, fingerprint {}",
        path.display(),
        public.fingerprint()
    );
    out!(
        "sign checkpoints with --key {} or EVAULT_KEY",
        path.display()
    );
    Ok(Status::Ok)
}

pub fn add(g: &Global, name: &str, file: &Path) -> Result<Status> {
    let pem =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let key = PublicKey::from_pem(name, &pem)?;
    settings::open(g)?.add_key(&key)?;
    out!("registered {name}, fingerprint {}", key.fingerprint());
    Ok(Status::Ok)
}

pub fn list(g: &Global, json: bool) -> Result<Status> {
    let keys = settings::open(g)?.keys()?;
    if json {
        let v: Vec<serde_json::Value> = keys
            .iter()
            .map(|k| serde_json::json!({"name": k.name, "fingerprint": k.fingerprint()}))
            .collect();
        out!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(Status::Ok);
    }
    if keys.is_empty() {
        out!("no keys registered; make one with `evault key new NAME`");
    }
    for k in &keys {
        out!("{:<24} {}", k.name, k.fingerprint());
    }
    Ok(Status::Ok)
}
