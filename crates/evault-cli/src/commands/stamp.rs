//! `evault stamp`: RFC 3161 time-stamps over checkpoints.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use evault_core::timestamp::{Anchors, Hash, Stamp, Trust};
use evault_core::{OrderId, Vault};

use crate::cli::Global;
use crate::{Status, out, settings};

/// The most a TSA reply may weigh (real ones are a few kilobytes).
const MAX_REPLY: u64 = 1024 * 1024;

pub fn request(g: &Global, order: &str, output: &Path) -> Result<Status> {
    let order = settings::order(order)?;
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        bail!(
            "{}: the folder {} does not exist (nothing was recorded)",
            output.display(),
            dir.display()
        );
    }
    if output.exists() {
        bail!(
            "{} already exists; give a new file name (nothing was recorded)",
            output.display()
        );
    }
    let vault = settings::open(g)?;
    let pending = vault.stamp_request(&order, &settings::actor(g)?, settings::key(g)?.as_ref())?;
    write_new(output, &pending.request)?;
    out!(
        "stamp request for {order} checkpoint #{} written to {} ({} bytes); send it to your TSA, then run `evault stamp attach {order} REPLY.tsr`",
        pending.checkpoint,
        output.display(),
        pending.request.len()
    );
    Ok(Status::Ok)
}

pub fn attach(g: &Global, order: &str, reply: &Path) -> Result<Status> {
    let order = settings::order(order)?;
    let bytes = read_reply(reply)?;
    record(
        g,
        &settings::open(g)?,
        &order,
        &bytes,
        &settings::tsa_anchors(g)?,
    )
}

pub fn over_http(g: &Global, order: &str, url: &str) -> Result<Status> {
    let order = settings::order(order)?;
    if !url.starts_with("http://") {
        bail!(
            "--tsa {url}: only http:// URLs are supported (a TSA's reply is signed, so TLS adds nothing to what it proves); for an https-only TSA use `evault stamp request`, send the file with curl, then `evault stamp attach`"
        );
    }
    let anchors = settings::tsa_anchors(g)?; // a bad path fails before anything is recorded
    let vault = settings::open(g)?;
    let pending = vault.stamp_request(&order, &settings::actor(g)?, settings::key(g)?.as_ref())?;
    let reply = post(url, &pending.request).with_context(|| {
        format!(
            "the request is kept in the vault ({}); attach a reply obtained another way with `evault stamp attach`",
            pending.path.display()
        )
    })?;
    record(g, &vault, &order, &reply, &anchors)
}

fn record(
    g: &Global,
    vault: &Vault,
    order: &OrderId,
    reply: &[u8],
    anchors: &Anchors,
) -> Result<Status> {
    let attached = vault.stamp_attach(order, reply, anchors, &settings::actor(g)?)?;
    let (r, stamp) = (&attached.recorded, &attached.stamp);
    let checkpoint = match &r.entry.body {
        evault_core::Body::Stamp(s) => s.checkpoint,
        _ => 0,
    };
    let what = format!(
        "checkpoint #{checkpoint} at {} by {}; {}",
        evault_core::stamp_time(stamp),
        stamp.tsa,
        describe(stamp)
    );
    if attached.new {
        out!("stamped {order} #{}: {what}", r.entry.seq);
    } else {
        out!(
            "already recorded: this reply is {order} #{} ({what}); not recorded again",
            r.entry.seq
        );
    }
    Ok(Status::Ok)
}

pub fn check(
    g: &Global,
    token: &Path,
    sha256: Option<String>,
    sha384: Option<String>,
    sha512: Option<String>,
) -> Result<Status> {
    let (hash, hex, flag) = match (sha256, sha384, sha512) {
        (Some(h), _, _) => (Hash::Sha256, h, "--sha256"),
        (_, Some(h), _) => (Hash::Sha384, h, "--sha384"),
        (_, _, Some(h)) => (Hash::Sha512, h, "--sha512"),
        _ => bail!("give the digest of the stamped data: --sha256, --sha384 or --sha512 HEX"),
    };
    let want = hash.digest(b"").len();
    let digest = parse_hex(hex.trim())
        .filter(|d| d.len() == want)
        .ok_or_else(|| anyhow!("{flag}: expected {} hex digits, got {hex:?}", want * 2))?;
    let bytes = read_reply(token)?;
    let anchors = settings::tsa_anchors(g)?;
    match evault_core::timestamp::check_token_digest(&bytes, hash, &digest, &anchors) {
        Ok(stamp) => {
            out!("{}: {}", token.display(), describe(&stamp));
            out!("  time      {}", evault_core::stamp_time(&stamp));
            out!("  tsa       {}", stamp.tsa);
            out!("  serial    {}", stamp.serial);
            out!("  policy    {}", stamp.policy);
            out!("  imprint   {} {}", stamp.hash.name(), hex_of(&digest));
            Ok(Status::Ok)
        }
        Err(e) => {
            out!("{}: INVALID: {e}", token.display());
            Ok(Status::Problem)
        }
    }
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `valid and trusted (chains to CN=...)` or `valid, TSA not trusted (why)`.
pub fn describe(stamp: &Stamp) -> String {
    let why = match &stamp.trust {
        Trust::Trusted { .. } => stamp.trust.describe(),
        Trust::NotTrusted { why } => {
            format!("{why}; pass --tsa-ca with the TSA's root to check it")
        }
    };
    format!("{} ({why})", stamp.verdict())
}

fn read_reply(path: &Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_REPLY + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > MAX_REPLY {
        bail!(
            "{}: larger than {MAX_REPLY} bytes, not a time-stamp reply",
            path.display()
        );
    }
    Ok(bytes)
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// POSTs a TimeStampReq (RFC 3161 §3.4) and returns the reply's bytes.
fn post(url: &str, request: &[u8]) -> Result<Vec<u8>> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent
        .post(url)
        .header("Content-Type", "application/timestamp-query")
        .send(request)
        .map_err(|e| anyhow!("sending the request to {url}: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        bail!("{url} answered HTTP {status}");
    }
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_REPLY)
        .read_to_vec()
        .map_err(|e| anyhow!("reading the reply from {url}: {e}"))?;
    Ok(body)
}
