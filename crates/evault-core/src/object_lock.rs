//! Retention on S3 through Object Lock: the bucket's default retention
//! rule, read and set with signed requests of their own (`object_store`
//! has no call for them). With a COMPLIANCE default of N days, S3 keeps
//! every new object version for N days: nobody, the account's owner
//! included, can delete or overwrite evidence before then.

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsAuthorizer};
use object_store::client::{HttpRequest, HttpRequestBody};

use crate::error::{Error, Result};

/// Longest configuration document read (it is a few hundred bytes).
const MAX_ANSWER: usize = 64 << 10;

/// What a bucket's Object Lock configuration says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Retention {
    /// The bucket has no Object Lock: its owner can delete or overwrite
    /// any object.
    None,
    /// Object Lock is enabled, without a default rule: objects are kept
    /// only when a retention is set on each.
    NoDefault,
    /// Every new object version is kept in `mode` (COMPLIANCE or
    /// GOVERNANCE) for `days`.
    Default {
        /// COMPLIANCE (nobody can shorten it) or GOVERNANCE (privileged
        /// users can).
        mode: String,
        /// The days (years are given in days).
        days: u32,
    },
}

impl std::fmt::Display for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Retention::None => f.write_str(
                "none: the bucket has no Object Lock, so its owner can delete or overwrite evidence (found only against a checkpoint or stamp kept elsewhere)",
            ),
            Retention::NoDefault => f.write_str(
                "Object Lock is enabled but sets no default retention: new objects are not kept (set one with `evault init --object-lock-days N` on a new vault, or in the bucket's settings)",
            ),
            Retention::Default { mode, days } => write!(
                f,
                "every new object is kept {mode} for {days} days (Object Lock){}",
                if mode == "COMPLIANCE" {
                    ": nobody, the account's owner included, can delete or overwrite it before"
                } else {
                    ": GOVERNANCE mode, which privileged users can lift"
                }
            ),
        }
    }
}

/// The bucket of an S3 store, for the requests `object_store` lacks.
pub(crate) struct S3Bucket {
    s3: AmazonS3,
    url: String,
    region: String,
    client: reqwest::Client,
}

/// Why a request failed, and whether trying again may help.
enum Failed {
    /// A connection or timeout error.
    Again(Error),
    /// Anything else (credentials, a request that cannot be built).
    Stop(Error),
}

impl S3Bucket {
    /// From the builder that made `s3` (its endpoint, region and style),
    /// with object_store's default timeouts (5 s to connect, 30 s in all).
    pub(crate) fn new(
        builder: &AmazonS3Builder,
        s3: AmazonS3,
        bucket: &str,
        allow_http: bool,
    ) -> Result<Self> {
        let get = |k| builder.get_config_value(&k);
        let region = get(AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".into());
        let virtual_hosted =
            get(AmazonS3ConfigKey::VirtualHostedStyleRequest).is_some_and(|v| v == "true");
        // As object_store: the S3-specific endpoint first.
        let endpoint =
            get(AmazonS3ConfigKey::S3Endpoint).or_else(|| get(AmazonS3ConfigKey::Endpoint));
        let url = match (endpoint, virtual_hosted) {
            (Some(endpoint), true) => endpoint,
            (Some(endpoint), false) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
            (None, true) => format!("https://{bucket}.s3.{region}.amazonaws.com"),
            (None, false) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
        };
        let client = reqwest::Client::builder()
            .https_only(!allow_http)
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| Error::ObjectStore {
                what: format!("opening {url}"),
                why: e.to_string(),
            })?;
        Ok(Self {
            s3,
            url,
            region,
            client,
        })
    }

    fn error(&self, why: impl Into<String>) -> Error {
        Error::ObjectStore {
            what: format!("reading the Object Lock configuration of {}", self.url),
            why: why.into(),
        }
    }

    /// Sends a signed request to `?object-lock`: (status, body), trying
    /// again after a 5xx or a failed connection, as `object_store` does for
    /// its own requests (5 times, waiting 0.1 s, 0.2 s, … between).
    async fn send(&self, method: &str, body: Vec<u8>) -> Result<(u16, String)> {
        let mut wait = std::time::Duration::from_millis(100);
        let mut tries = 0;
        loop {
            tries += 1;
            let last = tries == 6;
            match self.send_signed(method, body.clone()).await {
                Ok((status, _)) if matches!(status, 500 | 502 | 503 | 504) && !last => {}
                Ok(answer) => return Ok(answer),
                Err(Failed::Again(e)) if last => return Err(e),
                Err(Failed::Again(_)) => {}
                Err(Failed::Stop(e)) => return Err(e),
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }

    async fn send_signed(
        &self,
        method: &str,
        body: Vec<u8>,
    ) -> std::result::Result<(u16, String), Failed> {
        let stop = |e: String| Failed::Stop(self.error(e));
        let credential = self
            .s3
            .credentials()
            .get_credential()
            .await
            .map_err(|e| stop(e.to_string()))?;
        let uri = format!("{}?object-lock", self.url);
        let mut builder = http::Request::builder().method(method).uri(&uri);
        if !body.is_empty() {
            use base64::Engine;
            use sha2::{Digest, Sha256};
            let sum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&body));
            builder = builder
                .header("x-amz-checksum-sha256", sum)
                .header("x-amz-sdk-checksum-algorithm", "SHA256")
                .header("content-type", "application/xml");
        }
        let mut request: HttpRequest = builder
            .body(HttpRequestBody::from(body.clone()))
            .map_err(|e| stop(e.to_string()))?;
        AwsAuthorizer::new(&credential, "s3", &self.region)
            .try_authorize(&mut request, None)
            .map_err(|e| stop(e.to_string()))?;
        let method = method.parse().map_err(|_| stop("bad method".into()))?;
        let mut out = self.client.request(method, &uri);
        for (name, value) in request.headers() {
            out = out.header(name, value);
        }
        let again = |e: reqwest::Error| {
            if e.is_connect() || e.is_timeout() || e.is_request() || e.is_body() {
                Failed::Again(self.error(e.to_string()))
            } else {
                Failed::Stop(self.error(e.to_string()))
            }
        };
        let answer = out.body(body).send().await.map_err(again)?;
        let status = answer.status().as_u16();
        let bytes = answer.bytes().await.map_err(again)?;
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_ANSWER)]).into_owned();
        Ok((status, text))
    }

    /// The bucket's retention.
    pub(crate) async fn retention(&self) -> Result<Retention> {
        let (status, text) = self.send("GET", Vec::new()).await?;
        if status == 404 && text.contains("ObjectLockConfigurationNotFound") {
            return Ok(Retention::None);
        }
        if status != 200 {
            return Err(self.error(format!(
                "the store answered {status}: {}",
                tag(&text, "Message").unwrap_or(&text)
            )));
        }
        if tag(&text, "ObjectLockEnabled") != Some("Enabled") {
            return Ok(Retention::None);
        }
        let Some(mode) = tag(&text, "Mode") else {
            return Ok(Retention::NoDefault);
        };
        let days = match (tag(&text, "Days"), tag(&text, "Years")) {
            (Some(d), _) => d.parse().ok(),
            (None, Some(y)) => y.parse::<u32>().ok().map(|y| y.saturating_mul(365)),
            (None, None) => None,
        };
        Ok(
            days.map_or(Retention::NoDefault, |days| Retention::Default {
                mode: mode.to_owned(),
                days,
            }),
        )
    }

    /// Sets a COMPLIANCE default retention of `days` on a bucket whose
    /// Object Lock is enabled.
    pub(crate) async fn set_compliance_days(&self, days: u32) -> Result<()> {
        let body = format!(
            "<ObjectLockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>{days}</Days></DefaultRetention></Rule></ObjectLockConfiguration>"
        );
        let (status, text) = self.send("PUT", body.into_bytes()).await?;
        if status != 200 {
            return Err(Error::ObjectStore {
                what: format!("setting the default retention of {}", self.url),
                why: format!(
                    "the store answered {status}: {}",
                    tag(&text, "Message").unwrap_or(&text)
                ),
            });
        }
        Ok(())
    }
}

/// The text of the first `<name>…</name>` in `xml`.
fn tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].trim())
}
