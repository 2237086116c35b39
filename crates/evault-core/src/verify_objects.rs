//! `evault verify` on object storage (`docs/format.md` section 2.2): every
//! entry object listed and checked as the local logs are (contiguous `seq`,
//! the chain, checkpoints, signatures, stamps), each object's name against
//! the entry it holds, and every referenced blob re-hashed; stray objects
//! and unreferenced blobs are notices.

use futures_util::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, HashSet};

use crate::entry::Entry;
use crate::error::{Error, Result};
use crate::id::BlobId;
use crate::object_log::ObjectLog;
use crate::verify::{Ctx, Head, Report, Severity, VerifyOptions, check_log, judge_blobs};

/// Transfers at once.
const PARALLEL: usize = 8;

/// What an object's name says it is.
enum Kind {
    Entry { key: String, seq: u64 },
    Blob(BlobId),
    Known,
    Stray,
}

fn kind_of(name: &str) -> Kind {
    if name == "evault.json"
        || name
            .strip_prefix("keys/")
            .is_some_and(|k| k.ends_with(".pub.pem") && !k.contains('/'))
        || name
            .strip_prefix("accounts/")
            .and_then(|a| a.strip_suffix(".json"))
            .is_some_and(|d| d.len() == 20 && d.bytes().all(|b| b.is_ascii_digit()))
    {
        return Kind::Known;
    }
    if let Some(rest) = name.strip_prefix("blobs/sha256/") {
        let id = rest.split_once('/').and_then(|(fan, hex)| {
            let id: BlobId = hex.parse().ok()?;
            (id.to_hex().get(..2) == Some(fan)).then_some(id)
        });
        return id.map_or(Kind::Stray, Kind::Blob);
    }
    if let Some((key, file)) = name
        .strip_prefix("orders/")
        .and_then(|r| r.split_once("/log/"))
        && let Some(seq) = file
            .strip_suffix(".json")
            .and_then(crate::object_log::seq_of_name)
    {
        return Kind::Entry {
            key: key.to_owned(),
            seq,
        };
    }
    Kind::Stray
}

/// Checks the `accounts/<seq>.json` objects, joined in name order, as the
/// local `accounts.jsonl` is checked; each name must give its position.
fn verify_accounts(log: &ObjectLog, names: &[String], ctx: &mut Ctx) -> Result<()> {
    let names: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("accounts/"))
        .collect();
    let mut bytes = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if **name != format!("accounts/{:020}.json", i + 1) {
            ctx.push(
                Severity::Problem,
                "entry-misnamed",
                None,
                Some(i as u64 + 1),
                Some(name),
                None,
                None,
                format!(
                    "the accounts log's line {} is stored as {name}: a line is missing before it, or it was stored under another name",
                    i + 1
                ),
            );
        }
        bytes.extend(log.block_on(log.get_rest(name))?.unwrap_or_default());
        bytes.push(b'\n');
    }
    crate::verify::check_accounts(&bytes, "accounts/", ctx);
    Ok(())
}

/// Verifies the vault in `log`'s store.
pub fn verify_objects(log: &ObjectLog, options: &VerifyOptions) -> Result<Report> {
    let config = log
        .block_on(log.get_rest("evault.json"))?
        .ok_or_else(|| Error::ObjectStore {
            what: format!("verifying {log:?}"),
            why: "there is no evault.json: no vault under this prefix".into(),
        })?;
    let vault_id = crate::vault::vault_id_of(&config, std::path::Path::new("evault.json"))?;
    let names = log.block_on(log.list_rest(""))?;
    let mut keys = Vec::new();
    for name in names.iter().filter(|n| n.starts_with("keys/")) {
        if let (Some(file), Some(pem)) = (
            name.strip_prefix("keys/")
                .and_then(|f| f.strip_suffix(".pub.pem")),
            log.block_on(log.get_rest(name))?,
        ) {
            keys.push(crate::PublicKey::from_pem(
                file,
                &String::from_utf8_lossy(&pem),
            )?);
        }
    }
    let mut ctx = Ctx::new(vault_id, keys, options.tsa_anchors.clone());
    let only = options.order.as_ref().map(crate::OrderId::storage_key);
    let mut orders: BTreeMap<String, Vec<(u64, &String)>> = BTreeMap::new();
    let mut stored = HashSet::new();
    let mut stray = Vec::new();
    for name in &names {
        match kind_of(name) {
            Kind::Entry { key, seq } => orders.entry(key).or_default().push((seq, name)),
            Kind::Blob(id) => {
                stored.insert(id);
            }
            Kind::Known => {}
            Kind::Stray => stray.push(name),
        }
    }
    if let (Some(key), Some(order)) = (&only, &options.order) {
        orders.retain(|k, _| k == key);
        if orders.is_empty() {
            return Err(Error::UnknownOrder(order.to_string()));
        }
    } else {
        verify_accounts(log, &names, &mut ctx)?;
    }
    for (key, entries) in &orders {
        let lines: Vec<Vec<u8>> = log.block_on(
            futures_util::stream::iter(entries.iter().map(|(_, name)| async move {
                Ok::<_, Error>(log.get_rest(name).await?.unwrap_or_default())
            }))
            .buffered(PARALLEL)
            .try_collect(),
        )?;
        let mut manifest = Vec::new();
        for ((seq, name), line) in entries.iter().zip(&lines) {
            if line.contains(&b'\n') {
                ctx.push(
                    Severity::Problem,
                    "unreadable-entry",
                    Some(key),
                    Some(*seq),
                    Some(name),
                    Some("one line".into()),
                    Some(format!("{} lines", line.split(|b| *b == b'\n').count())),
                    "an entry object holds more than one line: it was written outside evault"
                        .into(),
                );
            }
            if let Ok(entry) = serde_json::from_slice::<Entry>(line)
                && entry.seq != *seq
            {
                ctx.push(
                    Severity::Problem,
                    "entry-misnamed",
                    Some(key),
                    Some(*seq),
                    Some(name),
                    Some(format!("entry {seq}")),
                    Some(format!("entry {}", entry.seq)),
                    "the object's name and the entry it holds disagree: it was copied or renamed outside evault".into(),
                );
            }
            manifest.extend_from_slice(line);
            manifest.push(b'\n');
        }
        check_log(key, Head::NotKept, &manifest, manifest.len(), &mut ctx);
    }

    let to_hash: Vec<BlobId> = ctx
        .refs()
        .keys()
        .filter(|id| stored.contains(id))
        .copied()
        .collect();
    let fast = options.fast;
    let hashed = log.block_on(
        futures_util::stream::iter(to_hash.iter().map(|id| async move {
            let hex = id.to_hex();
            let name = format!("blobs/sha256/{}/{hex}", &hex[..2]);
            // Streamed: a multi-GB packing video is never whole in memory.
            (*id, log.hash_object(&name, fast).await)
        }))
        .buffer_unordered(PARALLEL)
        .collect::<Vec<_>>(),
    );
    let bytes = judge_blobs(&mut ctx, &stored, hashed);
    if only.is_none() {
        let referenced: HashSet<BlobId> = ctx.refs().keys().copied().collect();
        for id in stored.iter().filter(|id| !referenced.contains(id)) {
            let hex = id.to_hex();
            ctx.push(
                Severity::Notice,
                "unreferenced-blob",
                None,
                None,
                Some(&format!("blobs/sha256/{}/{hex}", &hex[..2])),
                None,
                None,
                "stored but not referenced by any entry (an interrupted add or copy leaves these)"
                    .into(),
            );
        }
        for name in stray {
            ctx.push(Severity::Notice, "stray-object", None, None, Some(name), None, None,
                "an object under the vault's prefix that is not part of the object layout (docs/format.md section 2.2); it is not part of any order".into());
        }
    }
    Ok(ctx.into_report(orders.len() as u64, to_hash.len() as u64, bytes, fast))
}
