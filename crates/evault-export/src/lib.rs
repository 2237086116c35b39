//! # evault-export: platform-ready dispute evidence bundles
//!
//! Builds, from one order of an [`evault_core::Vault`], a zip holding one
//! BagIt 1.0 bag: the files to upload (fitted to a platform [`Profile`]),
//! the originals, the order's hash-chained log and a fit report; and checks
//! such a bundle offline with [`verify_bundle`]. The bundle layout is
//! specified in `docs/bundle.md`.
//!
//! [`export`] is quiet; [`export_with_progress`] also tells an
//! [`ExportProgress`] as photos are fitted, originals checked and the zip
//! written, for a progress bar. The library itself never prints.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bag;
mod decode;
mod error;
mod export;
mod fit;
mod heif;
mod pdf;
mod plan;
mod preview;
mod profile;
mod progress;
mod proofs;
mod sources;
mod stamps;
mod summary;
pub mod timeline;
mod verify_bundle;

pub use error::{Error, Result};
pub use export::{
    ExportOptions, ExportReport, FitLine, UploadFile, export, export_with_progress,
    missing_evidence, story,
};
pub use heif::{HEIF_CONVERT_ENV, HEIF_PACKAGE};
pub use pdf::{CJK_FONT_ENV, Paper};
pub use preview::{grey, thumbnail};
pub use profile::{NameRule, Profile, SlotModel};
pub use progress::{ExportProgress, ExportStage};
pub use sources::SourceReport;
pub use summary::statement_template;
pub use verify_bundle::{BundleFinding, BundleReport, verify_bundle, verify_bundle_with_previous};
