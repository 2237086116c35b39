//! Order logs and blobs on object storage (`docs/format.md` section 2.2):
//! one object per entry, `orders/<key>/log/<seq, 20 digits>.json`, holding
//! exactly the bytes of the entry's manifest line, and blobs under
//! `blobs/sha256/<xx>/<hex>`; every write create-only, nothing overwritten.
//!
//! An append lists the order's entries, hashes the last, and creates the
//! next `seq`; when another writer took that `seq` first it starts again on
//! the new tail, after a random, growing wait. When the create reports that
//! the object exists and the object holds our exact bytes, our own earlier
//! try landed (clients retry after a 5xx and can see their own success as a
//! conflict).
//!
//! The API is blocking, like the rest of the crate: it runs the store's
//! futures on a runtime of its own, so it must not be called from inside
//! an async task (use a blocking thread, as `evault serve` does).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::entry::{Entry, Timestamp};
use crate::error::{Error, Result};
use crate::id::{BlobId, EntryHash, OrderId};
use crate::manifest::backoff;
use crate::merkle::leaf_hash;
use crate::object_lock::{Retention, S3Bucket};

/// How many times an append starts again after losing a race.
const MAX_TRIES: u32 = 64;

/// Bytes of one part of a multipart upload.
const PART_BYTES: usize = 16 << 20;

/// Blobs larger than this are uploaded in parts.
pub(crate) const WHOLE_BYTES: u64 = 16 << 20;

/// The log's own runtime, shut down without waiting when dropped (so that
/// dropping a vault inside an async task, as a server's shutdown does,
/// cannot panic).
struct Runtime(Option<tokio::runtime::Runtime>);

impl std::ops::Deref for Runtime {
    type Target = tokio::runtime::Runtime;

    fn deref(&self) -> &tokio::runtime::Runtime {
        // Some until drop.
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("the runtime is taken only on drop"))
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// What a create-only write of an entry object found.
pub(crate) enum Put {
    /// The object holds the bytes written.
    Landed,
    /// Another writer's entry holds the name: its bytes.
    Taken(Vec<u8>),
}

/// Digits of the `seq` in an entry object's name.
const SEQ_DIGITS: usize = 20;

/// The last entry of an order, as an append builds on it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogTail {
    /// Its `seq` (0 for an order with no entry).
    pub seq: u64,
    /// Its hash, the next entry's `prev`.
    pub hash: Option<EntryHash>,
    /// When it was recorded.
    pub recorded_at: Option<Timestamp>,
}

/// An entry written by [`ObjectLog::append`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// Its `seq`.
    pub seq: u64,
    /// Its line (the object's bytes).
    pub line: Vec<u8>,
    /// Its hash.
    pub hash: EntryHash,
    /// How many times another writer took the `seq` first.
    pub lost_races: u32,
}

/// Order logs and blobs in an object store under a prefix.
pub struct ObjectLog {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    runtime: Runtime,
    /// The highest `seq` seen per order, so that a listing starts after it.
    known: Mutex<HashMap<String, LogTail>>,
    /// The S3 bucket, for Object Lock (None on other stores).
    bucket: Option<S3Bucket>,
}

impl std::fmt::Debug for ObjectLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectLog")
            .field("store", &self.store.to_string())
            .field("prefix", &self.prefix.as_ref())
            .finish_non_exhaustive()
    }
}

fn store_error(what: &str, path: &ObjectPath, e: &dyn std::fmt::Display) -> Error {
    Error::ObjectStore {
        what: format!("{what} {path}"),
        why: e.to_string(),
    }
}

impl ObjectLog {
    /// Uses `store`, with every object name under `prefix` (may be empty).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Result<Self> {
        // Two workers: blocking callers on several threads (and a copy's
        // parallel transfers) share it.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::ObjectStore {
                what: "starting the object store's runtime".into(),
                why: e.to_string(),
            })?;
        Ok(Self {
            store,
            prefix: ObjectPath::from(prefix.trim_matches('/')),
            runtime: Runtime(Some(runtime)),
            known: Mutex::default(),
            bucket: None,
        })
    }

    /// Opens `s3://bucket/prefix` or `gs://bucket/prefix`, with credentials,
    /// region and endpoint from the usual environment (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
    /// `AWS_ALLOW_HTTP=true` for a local test server; `GOOGLE_*` for GCS).
    pub fn from_url(url: &str) -> Result<Self> {
        Self::from_url_with(url, &[])
    }

    /// [`from_url`](Self::from_url), with settings that take precedence over
    /// the environment: `object_store`'s configuration keys, such as
    /// `("aws_endpoint", "http://127.0.0.1:5000")` or `("aws_allow_http", "true")`.
    pub fn from_url_with(url: &str, settings: &[(&str, &str)]) -> Result<Self> {
        // reqwest's TLS uses the process's rustls provider: ring, as `evault
        // serve` does (aws-lc, rustls's default, needs a C toolchain and cmake).
        #[allow(
            deprecated,
            reason = "ring's provider lacks post-quantum key exchange; it is the one this build carries"
        )]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let bad = |why: String| Error::ObjectStore {
            what: format!("opening {url}"),
            why,
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            bad("give the vault as s3://BUCKET/PREFIX or gs://BUCKET/PREFIX".into())
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("the URL names no bucket".into()));
        }
        let store: Arc<dyn ObjectStore> = match scheme {
            "s3" => {
                let allow_http = settings
                    .iter()
                    .find(|(k, _)| *k == "aws_allow_http")
                    .map(|(_, v)| v.to_string())
                    .or_else(|| std::env::var("AWS_ALLOW_HTTP").ok())
                    .is_some_and(|v| v == "true");
                // Every put carries its SHA-256; some servers (moto) want the
                // algorithm named in a header too on Object Lock buckets.
                let mut headers = reqwest::header::HeaderMap::new();
                headers.insert(
                    "x-amz-sdk-checksum-algorithm",
                    reqwest::header::HeaderValue::from_static("SHA256"),
                );
                let client = object_store::ClientOptions::new()
                    .with_allow_http(allow_http)
                    .with_default_headers(headers);
                let mut builder = object_store::aws::AmazonS3Builder::from_env();
                for (key, value) in settings.iter().filter(|(k, _)| *k != "aws_allow_http") {
                    let key = key
                        .parse()
                        .map_err(|e: object_store::Error| bad(e.to_string()))?;
                    builder = builder.with_config(key, *value);
                }
                let builder = builder
                    .with_bucket_name(bucket)
                    .with_checksum_algorithm(object_store::aws::Checksum::SHA256)
                    .with_client_options(client);
                let s3 = builder.clone().build().map_err(|e| bad(e.to_string()))?;
                let mut log = Self::new(Arc::new(s3.clone()), prefix)?;
                log.bucket = Some(S3Bucket::new(&builder, s3, bucket, allow_http)?);
                return Ok(log);
            }
            "gs" => {
                let mut builder = object_store::gcp::GoogleCloudStorageBuilder::from_env();
                for (key, value) in settings {
                    let key = key
                        .parse()
                        .map_err(|e: object_store::Error| bad(e.to_string()))?;
                    builder = builder.with_config(key, *value);
                }
                Arc::new(
                    builder
                        .with_bucket_name(bucket)
                        .build()
                        .map_err(|e| bad(e.to_string()))?,
                )
            }
            other => return Err(bad(format!("{other}:// is not s3:// or gs://"))),
        };
        Self::new(store, prefix)
    }

    /// The retention of the S3 bucket (its Object Lock default rule);
    /// `None` for a store that is not S3.
    pub fn retention(&self) -> Result<Option<Retention>> {
        self.bucket
            .as_ref()
            .map(|b| self.block_on(b.retention()))
            .transpose()
    }

    /// Makes S3 keep every new object of the bucket in COMPLIANCE mode for
    /// `days` (its default retention rule); the bucket's Object Lock must be
    /// enabled.
    pub fn set_compliance_days(&self, days: u32) -> Result<()> {
        let bucket = self.bucket.as_ref().ok_or_else(|| Error::ObjectStore {
            what: "setting a retention".into(),
            why: "Object Lock is an S3 feature; on Google Cloud Storage set a bucket retention policy".into(),
        })?;
        self.block_on(bucket.set_compliance_days(days))
    }

    /// Runs a future of the store on this log's runtime.
    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Creates `rest` (under the prefix) holding `bytes`, create-only. An
    /// object already there must hold the same bytes: `Ok(false)`; other
    /// bytes are a conflict, named.
    pub(crate) async fn put_exact(&self, rest: &str, bytes: Vec<u8>) -> Result<bool> {
        let path = self.path(rest);
        let put = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&path, PutPayload::from(bytes.clone()), put)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => {
                let held = self.fetch(&path).await?;
                if held.as_deref() == Some(bytes.as_slice()) {
                    Ok(false)
                } else {
                    Err(Error::ObjectStore {
                        what: format!("writing {path}"),
                        why: "the object store already holds other bytes there: it holds another vault, or one that has diverged from this one".into(),
                    })
                }
            }
            Err(e) => Err(store_error("writing", &path, &e)),
        }
    }

    /// Uploads the file `from` to the blob `id` in 16 MiB parts (for blobs
    /// too large for one PUT, or for memory), unless an object is there
    /// already: `Ok(false)`. The bytes are hashed as they are sent, and
    /// the upload is abandoned, named, when they are not `id`'s (the file
    /// changed). Parts are not create-only (object_store offers no
    /// conditional multipart upload), which is safe only because the name
    /// is the bytes' SHA-256: a racing writer writes the same bytes.
    pub(crate) async fn put_file_in_parts(
        &self,
        id: &BlobId,
        from: &std::path::Path,
    ) -> Result<bool> {
        use sha2::{Digest, Sha256};
        use std::io::Read;
        let path = self.blob_path(id);
        match self.store.head(&path).await {
            Ok(_) => return Ok(false),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(store_error("reading", &path, &e)),
        }
        let io = |e| Error::Io {
            action: "reading",
            path: from.to_owned(),
            source: e,
        };
        let mut file = std::fs::File::open(from).map_err(io)?;
        let upload = self
            .store
            .put_multipart(&path)
            .await
            .map_err(|e| store_error("uploading", &path, &e))?;
        let mut parts = object_store::WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut sha = Sha256::new();
        let mut buf = vec![0u8; PART_BYTES];
        loop {
            let n = match file.read(&mut buf) {
                Ok(n) => n,
                Err(e) => {
                    let _ = parts.abort().await;
                    return Err(io(e));
                }
            };
            if n == 0 {
                break;
            }
            // One part in flight, one filling: at most 32 MiB held.
            if let Err(e) = parts.wait_for_capacity(1).await {
                return Err(store_error("uploading", &path, &e));
            }
            sha.update(&buf[..n]);
            parts.write(&buf[..n]);
        }
        if BlobId::from_bytes(sha.finalize().into()) != *id {
            let _ = parts.abort().await;
            return Err(Error::ObjectStore {
                what: format!("storing blob {}", id.to_hex()),
                why: format!(
                    "{} no longer holds the bytes of its name (altered); nothing was stored; run `evault verify` and restore it",
                    from.display()
                ),
            });
        }
        parts
            .finish()
            .await
            .map_err(|e| store_error("uploading", &path, &e))?;
        Ok(true)
    }

    /// Reads `rest` (under the prefix), or `None` when there is no such object.
    pub(crate) async fn get_rest(&self, rest: &str) -> Result<Option<Vec<u8>>> {
        self.fetch(&self.path(rest)).await
    }

    /// Reads the object `path`, or `None` when there is no such object.
    async fn fetch(&self, path: &ObjectPath) -> Result<Option<Vec<u8>>> {
        match self.store.get(path).await {
            Ok(got) => got
                .bytes()
                .await
                .map(|b| Some(b.to_vec()))
                .map_err(|e| store_error("reading", path, &e)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error("reading", path, &e)),
        }
    }

    /// A blocking reader of the object `rest`'s bytes as they arrive, or
    /// `None` when there is no such object.
    pub(crate) fn reader(&self, rest: &str) -> Result<Option<ObjectReader<'_>>> {
        let path = self.path(rest);
        match self.runtime.block_on(self.store.get(&path)) {
            Ok(got) => Ok(Some(ObjectReader {
                log: self,
                stream: got.into_stream().map_ok(|b| b.to_vec()).boxed(),
                chunk: Vec::new(),
                at: 0,
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error("reading", &path, &e)),
        }
    }

    /// SHA-256 (unless `fast`), BLAKE3 and size of the object `rest`,
    /// hashed as its bytes arrive.
    pub(crate) async fn hash_object(
        &self,
        rest: &str,
        fast: bool,
    ) -> Result<crate::store::BlobDigests> {
        use sha2::{Digest, Sha256};
        let path = self.path(rest);
        let got = match self.store.get(&path).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => {
                let hex = rest.rsplit('/').next().unwrap_or(rest).to_owned();
                return Err(Error::BlobMissing(hex));
            }
            Err(e) => return Err(store_error("reading", &path, &e)),
        };
        let mut sha = (!fast).then(Sha256::new);
        let mut b3 = blake3::Hasher::new();
        let mut size = 0u64;
        let mut chunks = got.into_stream();
        while let Some(chunk) = chunks
            .try_next()
            .await
            .map_err(|e| store_error("reading", &path, &e))?
        {
            if let Some(sha) = sha.as_mut() {
                sha.update(&chunk);
            }
            b3.update(&chunk);
            size += chunk.len() as u64;
        }
        Ok((
            sha.map(|s| BlobId::from_bytes(s.finalize().into())),
            crate::id::Blake3Hash::from_bytes(*b3.finalize().as_bytes()),
            size,
        ))
    }

    /// Every object under `rest` (recursively), as paths relative to the
    /// prefix, sorted.
    pub(crate) async fn list_rest(&self, rest: &str) -> Result<Vec<String>> {
        let dir = self.path(rest);
        let listed: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(|e| store_error("listing", &dir, &e))?;
        let skip = self.prefix.as_ref().len() + usize::from(!self.prefix.as_ref().is_empty());
        let mut out: Vec<String> = listed
            .into_iter()
            .map(|m| {
                m.location
                    .as_ref()
                    .get(skip..)
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        out.sort();
        Ok(out)
    }

    fn path(&self, rest: &str) -> ObjectPath {
        ObjectPath::from(format!("{}/{rest}", self.prefix.as_ref()).trim_start_matches('/'))
    }

    /// The folder of an order's entry objects.
    fn log_dir(&self, order: &OrderId) -> ObjectPath {
        self.path(&format!("orders/{}/log", order.storage_key()))
    }

    /// The object of entry `seq`.
    pub fn entry_path(&self, order: &OrderId, seq: u64) -> ObjectPath {
        self.path(&format!(
            "orders/{}/log/{seq:0width$}.json",
            order.storage_key(),
            width = SEQ_DIGITS
        ))
    }

    /// The object of a blob.
    pub fn blob_path(&self, id: &BlobId) -> ObjectPath {
        let hex = id.to_hex();
        self.path(&format!("blobs/sha256/{}/{hex}", &hex[..2]))
    }

    /// Stores a blob create-only; `false` when it was stored already (its
    /// name is its SHA-256, so the bytes are the same).
    pub fn put_blob(&self, id: &BlobId, bytes: Vec<u8>) -> Result<bool> {
        use sha2::{Digest, Sha256};
        let path = self.blob_path(id);
        // A create-only object can never be replaced: never write wrong bytes.
        if BlobId::from_bytes(Sha256::digest(&bytes).into()) != *id {
            return Err(Error::ObjectStore {
                what: format!("storing {path}"),
                why: "the bytes do not have this SHA-256".into(),
            });
        }
        let put = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let r = self
            .runtime
            .block_on(self.store.put_opts(&path, PutPayload::from(bytes), put));
        match r {
            Ok(_) => Ok(true),
            // S3 also answers 409 while another write of it is in flight, which
            // object_store reports the same way: stored only if it is there.
            Err(object_store::Error::AlreadyExists { .. }) => {
                match self.runtime.block_on(self.store.head(&path)) {
                    Ok(_) => Ok(false),
                    Err(e) => Err(store_error(
                        "storing (another write was in flight)",
                        &path,
                        &e,
                    )),
                }
            }
            Err(e) => Err(store_error("storing", &path, &e)),
        }
    }

    /// The `seq` of every entry object of an order, ascending, listed
    /// after `after` (an object name) when given.
    fn list(&self, order: &OrderId, after: Option<&ObjectPath>) -> Result<Vec<u64>> {
        let dir = self.log_dir(order);
        let listed: Vec<object_store::ObjectMeta> = self
            .runtime
            .block_on(async {
                match after {
                    Some(offset) => {
                        self.store
                            .list_with_offset(Some(&dir), offset)
                            .try_collect()
                            .await
                    }
                    None => self.store.list(Some(&dir)).try_collect().await,
                }
            })
            .map_err(|e| store_error("listing", &dir, &e))?;
        let mut seqs: Vec<u64> = listed
            .iter()
            .filter_map(|m| m.location.filename())
            .filter_map(|name| name.strip_suffix(".json"))
            .filter_map(seq_of_name)
            .collect();
        // Listings are not guaranteed to be sorted.
        seqs.sort_unstable();
        Ok(seqs)
    }

    fn get(&self, path: &ObjectPath) -> Result<Option<Vec<u8>>> {
        self.runtime.block_on(self.fetch(path))
    }

    /// The order's last entry.
    pub fn tail(&self, order: &OrderId) -> Result<LogTail> {
        let key = order.storage_key();
        let known = self
            .known
            .lock()
            .map(|k| k.get(&key).cloned())
            .unwrap_or_default();
        let after = known.as_ref().map(|t| self.entry_path(order, t.seq));
        let newer = self.list(order, after.as_ref())?;
        let Some(&seq) = newer.last() else {
            return Ok(known.unwrap_or_default());
        };
        let path = self.entry_path(order, seq);
        let line = self.get(&path)?.ok_or_else(|| Error::ObjectStore {
            what: format!("reading {path}"),
            why: "listed, then not found".into(),
        })?;
        let tail = tail_of(&line, seq, order)?;
        self.remember(&key, &tail);
        Ok(tail)
    }

    fn remember(&self, key: &str, tail: &LogTail) {
        if let Ok(mut known) = self.known.lock() {
            let held = known.entry(key.to_owned()).or_default();
            if held.seq < tail.seq {
                *held = tail.clone();
            }
        }
    }

    /// Appends one entry: `build` makes its line from the tail it follows
    /// (it is called again, on the new tail, after a lost race).
    pub fn append(
        &self,
        order: &OrderId,
        mut build: impl FnMut(&LogTail) -> Result<Vec<u8>>,
    ) -> Result<Appended> {
        let key = order.storage_key();
        for lost_races in 0..MAX_TRIES {
            let tail = self.tail(order)?;
            let seq = tail.seq.checked_add(1).ok_or_else(|| Error::DamagedLog {
                order: order.to_string(),
                line: tail.seq,
                why: "its last sequence number is the largest possible".into(),
            })?;
            let line = build(&tail)?;
            // Checked before the write, which can never be undone.
            check_line(&line, seq, &tail, order)?;
            match self.put_entry(order, seq, &line)? {
                Put::Landed => {
                    let hash = leaf_hash(&line);
                    let written = tail_of(&line, seq, order)?;
                    self.remember(&key, &written);
                    return Ok(Appended {
                        seq,
                        line,
                        hash,
                        lost_races,
                    });
                }
                // Another writer's entry: build on it next time even if the
                // listing lags.
                Put::Taken(held) => {
                    if let Ok(theirs) = tail_of(&held, seq, order) {
                        self.remember(&key, &theirs);
                    }
                }
            }
            std::thread::sleep(backoff(lost_races));
        }
        Err(Error::ObjectStore {
            what: format!("appending to order {order:?}"),
            why: format!(
                "another writer took the next entry {MAX_TRIES} times in a row; retry later"
            ),
        })
    }

    /// Creates entry `seq` of `order` holding `line` (already checked),
    /// create-only: [`Put::Landed`] when the object holds our bytes (also
    /// when an earlier try that reported a failure or a conflict landed),
    /// else what the object holds.
    pub(crate) fn put_entry(&self, order: &OrderId, seq: u64, line: &[u8]) -> Result<Put> {
        let path = self.entry_path(order, seq);
        let put = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let r = self.runtime.block_on(self.store.put_opts(
            &path,
            PutPayload::from(line.to_vec()),
            put,
        ));
        let held = match r {
            Ok(_) => return Ok(Put::Landed),
            Err(object_store::Error::AlreadyExists { .. }) => self.get(&path)?,
            // A timeout can hide a write that landed: look before saying it failed.
            Err(e) => match self.get(&path) {
                Ok(Some(held)) if held == line => Some(held),
                Ok(_) => return Err(store_error("appending", &path, &e)),
                Err(_) => {
                    return Err(store_error(
                        "appending (it may have been recorded; look with `evault log` before trying again)",
                        &path,
                        &e,
                    ));
                }
            },
        };
        match held {
            Some(held) if held == line => Ok(Put::Landed),
            Some(held) => Ok(Put::Taken(held)),
            // Reported as existing, then not found: only a delete behind the
            // vault's back does that.
            None => Err(Error::ObjectStore {
                what: format!("appending {path}"),
                why: "the object was reported as existing, then not found (deleted behind the vault's back?); run `evault verify`".into(),
            }),
        }
    }

    /// The entries of `order` from `seq` `from` on, in `seq` order, listed
    /// after entry `from - 1` (a listing that starts there, not at the
    /// beginning) and read 32 at a time.
    pub(crate) fn entries_from(&self, order: &OrderId, from: u64) -> Result<Vec<(u64, Vec<u8>)>> {
        let after = from.checked_sub(1).filter(|s| *s > 0);
        let after = after.map(|s| self.entry_path(order, s));
        let seqs = self.list(order, after.as_ref())?;
        let seqs: Vec<u64> = seqs.into_iter().filter(|s| *s >= from).collect();
        self.runtime.block_on(
            futures_util::stream::iter(seqs.into_iter().map(|seq| async move {
                let path = self.entry_path(order, seq);
                let line = self.fetch(&path).await?.ok_or_else(|| Error::ObjectStore {
                    what: format!("reading {path}"),
                    why: "listed, then not found (deleted behind the vault's back?); run `evault --vault URL verify`".into(),
                })?;
                Ok((seq, line))
            }))
            .buffered(32)
            .try_collect(),
        )
    }

    /// Stores the blob `id` from the file `from`, checked to hold its bytes
    /// (a create-only object can never be replaced): up to 16 MiB whole,
    /// first checked when `check` (a caller that has just hashed the file
    /// passes `false`); above, in 16 MiB parts, always hashed as they are
    /// sent. `(false, size)` when it was stored already.
    pub(crate) async fn put_blob_file(
        &self,
        id: &BlobId,
        from: &std::path::Path,
        check: bool,
    ) -> Result<(bool, u64)> {
        let altered = || Error::ObjectStore {
            what: format!("storing blob {}", id.to_hex()),
            why: format!(
                "{} no longer holds the bytes of its name (altered); run `evault verify` and restore it",
                from.display()
            ),
        };
        let io = |e| Error::Io {
            action: "reading",
            path: from.to_owned(),
            source: e,
        };
        let size = std::fs::metadata(from).map_err(io)?.len();
        if size > WHOLE_BYTES {
            // Hashed as it is sent in parts: never whole in memory.
            return Ok((self.put_file_in_parts(id, from).await?, size));
        }
        let owned = from.to_owned();
        let bytes = tokio::task::spawn_blocking(move || std::fs::read(owned))
            .await
            .map_err(|e| Error::ObjectStore {
                what: format!("reading {}", from.display()),
                why: e.to_string(),
            })?
            .map_err(io)?;
        if check {
            use sha2::{Digest, Sha256};
            if BlobId::from_bytes(Sha256::digest(&bytes).into()) != *id {
                return Err(altered());
            }
        }
        let path = self.blob_path(id);
        let put = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&path, PutPayload::from(bytes), put)
            .await
        {
            Ok(_) => Ok((true, size)),
            // S3 also answers 409 while another write of it is in flight:
            // stored only if it is there (its name is its bytes' SHA-256).
            Err(object_store::Error::AlreadyExists { .. }) => match self.store.head(&path).await {
                Ok(_) => Ok((false, size)),
                Err(e) => Err(store_error(
                    "storing (another write was in flight)",
                    &path,
                    &e,
                )),
            },
            Err(e) => Err(store_error("storing", &path, &e)),
        }
    }

    /// Every entry object of the order, in `seq` order: `(seq, line)`.
    /// Gaps are not filled and not refused (verify names them).
    pub fn entries(&self, order: &OrderId) -> Result<Vec<(u64, Vec<u8>)>> {
        let mut out = Vec::new();
        for seq in self.list(order, None)? {
            let path = self.entry_path(order, seq);
            if let Some(line) = self.get(&path)? {
                out.push((seq, line));
            }
        }
        Ok(out)
    }

    /// The order's log as the local `manifest.jsonl` would hold it: every
    /// entry object's bytes followed by `\n`, in `seq` order.
    pub fn manifest(&self, order: &OrderId) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for (_, line) in self.entries(order)? {
            out.extend_from_slice(&line);
            out.push(b'\n');
        }
        Ok(out)
    }
}

/// An object's bytes as a blocking [`std::io::Read`], fetched chunk by
/// chunk (never whole in memory).
pub(crate) struct ObjectReader<'a> {
    log: &'a ObjectLog,
    stream: futures_util::stream::BoxStream<'static, object_store::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
}

impl std::io::Read for ObjectReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.log.runtime.block_on(self.stream.try_next()) {
                Ok(Some(chunk)) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Ok(None) => return Ok(0),
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Refuses a line that is not the entry `seq` following `tail` in `order`.
fn check_line(line: &[u8], seq: u64, tail: &LogTail, order: &OrderId) -> Result<()> {
    let wrong = |why: String| Error::ObjectStore {
        what: format!("appending entry {seq} to order {order:?}"),
        why,
    };
    if line.contains(&b'\n') {
        return Err(wrong("the line holds a newline".into()));
    }
    let entry: Entry = serde_json::from_slice(line).map_err(|e| wrong(e.to_string()))?;
    if entry.seq != seq || entry.prev != tail.hash {
        return Err(wrong(format!(
            "the line is entry {} after {:?}, not entry {seq} after {:?}",
            entry.seq, entry.prev, tail.hash
        )));
    }
    if entry.order != *order {
        return Err(Error::KeyCollision {
            asked: order.to_string(),
            stored: entry.order.to_string(),
        });
    }
    Ok(())
}

/// A `seq` from an object name: exactly [`SEQ_DIGITS`] ASCII digits.
pub(crate) fn seq_of_name(digits: &str) -> Option<u64> {
    (digits.len() == SEQ_DIGITS && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The tail an entry object gives.
fn tail_of(line: &[u8], seq: u64, order: &OrderId) -> Result<LogTail> {
    let entry: Entry = serde_json::from_slice(line).map_err(|e| Error::DamagedLog {
        order: order.to_string(),
        line: seq,
        why: format!("entry object {seq}: {e}"),
    })?;
    if entry.seq != seq {
        return Err(Error::DamagedLog {
            order: order.to_string(),
            line: seq,
            why: format!("entry object {seq} holds entry {}", entry.seq),
        });
    }
    Ok(LogTail {
        seq,
        hash: Some(leaf_hash(line)),
        recorded_at: Some(entry.recorded_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Body, LINE_VERSION};
    use object_store::memory::InMemory;

    fn note_line(order: &OrderId, tail: &LogTail, text: &str) -> Vec<u8> {
        let entry = Entry {
            v: LINE_VERSION,
            seq: tail.seq + 1,
            prev: tail.hash,
            order: order.clone(),
            recorded_at: Timestamp::from_datetime(
                chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            ),
            recorded_by: "test".into(),
            station: "s".into(),
            body: Body::Note {
                text: text.to_owned(),
            },
        };
        serde_json::to_vec(&entry).unwrap_or_default()
    }

    /// The chain of a log read back: contiguous, each `prev` the hash of the line before.
    fn check_chain(entries: &[(u64, Vec<u8>)]) {
        let mut prev = None;
        for (i, (seq, line)) in entries.iter().enumerate() {
            assert_eq!(*seq, i as u64 + 1);
            let e: Entry = serde_json::from_slice(line).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((e.seq, e.prev), (*seq, prev));
            prev = Some(leaf_hash(line));
        }
    }

    #[test]
    fn sixteen_threads_appending_to_one_order_lose_and_duplicate_nothing() {
        let log = Arc::new(ObjectLog::new(Arc::new(InMemory::new()), "vaults/a").unwrap());
        let order: OrderId = "SO-RACE".parse().unwrap();
        let threads: Vec<_> = (0..16)
            .map(|t| {
                let (log, order) = (log.clone(), order.clone());
                std::thread::spawn(move || {
                    let mut lost = 0;
                    for i in 0..20 {
                        let text = format!("t{t} n{i}");
                        let a = log.append(&order, |tail| Ok(note_line(&order, tail, &text)));
                        lost += a.map(|a| a.lost_races).unwrap_or_else(|e| panic!("{e}"));
                    }
                    lost
                })
            })
            .collect();
        let lost: u32 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
        let entries = log.entries(&order).unwrap();
        assert_eq!(entries.len(), 16 * 20);
        check_chain(&entries);
        let mut texts: Vec<String> = entries
            .iter()
            .map(
                |(_, line)| match serde_json::from_slice::<Entry>(line).map(|e| e.body) {
                    Ok(Body::Note { text }) => text,
                    other => panic!("{other:?}"),
                },
            )
            .collect();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), 16 * 20, "every note once");
        // The writers did race (else this test proves nothing).
        assert!(lost > 0);
        // Joined with newlines, the objects are a manifest the local reader takes.
        let manifest = log.manifest(&order).unwrap();
        let parsed = crate::OrderLog::parse(&manifest, "SO-RACE").unwrap();
        assert_eq!((parsed.entries.len(), parsed.torn_bytes), (16 * 20, 0));
    }

    #[test]
    fn another_writers_entry_is_built_on() {
        let store = Arc::new(InMemory::new());
        let log = ObjectLog::new(store.clone(), "").unwrap();
        let order: OrderId = "SO-1".parse().unwrap();
        let first = log
            .append(&order, |t| Ok(note_line(&order, t, "one")))
            .unwrap();
        assert_eq!((first.seq, first.lost_races), (1, 0));
        // Another process (another ObjectLog) appends entry 2.
        let other = ObjectLog::new(store.clone(), "").unwrap();
        let theirs = other
            .append(&order, |t| Ok(note_line(&order, t, "theirs")))
            .unwrap();
        assert_eq!(theirs.seq, 2);
        // This one has entry 1 cached as its tail; the listing after it finds entry 2.
        let mine = log
            .append(&order, |t| Ok(note_line(&order, t, "mine")))
            .unwrap();
        assert_eq!(mine.seq, 3);
        check_chain(&log.entries(&order).unwrap());
        assert_eq!(
            log.entry_path(&order, 3).as_ref(),
            format!(
                "orders/{}/log/00000000000000000003.json",
                order.storage_key()
            )
        );
    }

    #[test]
    fn a_blob_is_stored_once_and_only_under_its_sha256() {
        use sha2::{Digest, Sha256};
        let log = ObjectLog::new(Arc::new(InMemory::new()), "p").unwrap();
        let id = BlobId::from_bytes(Sha256::digest(b"x").into());
        assert!(log.put_blob(&id, b"x".to_vec()).unwrap());
        assert!(!log.put_blob(&id, b"x".to_vec()).unwrap());
        let hex = id.to_hex();
        assert_eq!(
            log.blob_path(&id).as_ref(),
            format!("p/blobs/sha256/{}/{hex}", &hex[..2])
        );
        let other = BlobId::from_bytes(Sha256::digest(b"y").into());
        assert!(log.put_blob(&other, b"x".to_vec()).is_err());
    }
}
