//! RFC 3161 trusted time-stamps for evault checkpoints.
//!
//! [`Request`] builds the TimeStampReq a TSA answers; [`check_reply`] and
//! [`check_token`] verify what comes back, offline: status, imprint, nonce,
//! the content-type and message-digest attributes, the signature over the
//! signed attributes (RSA PKCS#1 v1.5, RSASSA-PSS, ECDSA P-256/P-384), the ESSCertIDv2
//! or ESSCertID naming the signer, the critical timeStamping EKU, the
//! certificate's validity at the stamped time and its chain to [`Anchors`]
//! the user trusts. Revocation is not checked (that needs the network).

mod anchors;
mod asn1;
mod cert;
mod digest;
mod error;
mod oids;
mod request;
mod signature;
mod token;
mod verify;

pub use anchors::Anchors;
pub use digest::Hash;
pub use error::{Error, Malformed, Result};
pub use request::Request;
pub use verify::{Expected, Stamp, Trust, check_reply, check_token, check_token_digest};

/// The TimeStampToken inside a DER TimeStampResp; errors when the TSA refused.
pub fn token_of_reply(reply: &[u8]) -> Result<&[u8]> {
    token::token_of(reply)
}
