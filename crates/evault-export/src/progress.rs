//! Progress of [`crate::export_with_progress`]: its slow stages, each with
//! a total known when it starts.

use std::io::Read;

/// A slow stage of an export, in the order they run. A stage with nothing
/// to do (no photos to fit, `originals: false`) may be skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportStage {
    /// Fitting photos to the profile (decode, turn upright, resize, encode
    /// within the byte budget); counted in photos.
    FitPhotos,
    /// Reading every original through its SHA-256 check (and computing its
    /// SHA-512 for the bag's manifest); counted in bytes.
    CheckOriginals,
    /// Writing the bag's payload (upload files, originals, statement) into
    /// the zip; counted in bytes.
    WriteBundle,
}

/// Told about an export's progress. Called from worker threads (photos and
/// originals are processed in parallel); every method does nothing by
/// default, and `()` ignores everything.
///
/// For each stage, [`start`](Self::start) comes first with the stage's
/// total, then [`advance`](Self::advance) calls whose `done` add up to that
/// total when the export succeeds.
pub trait ExportProgress: Sync {
    /// `stage` begins, with `total` photos or bytes to do.
    fn start(&self, _stage: ExportStage, _total: u64) {}
    /// `done` more photos or bytes of `stage` are done.
    fn advance(&self, _stage: ExportStage, _done: u64) {}
}

impl ExportProgress for () {}

/// A reader that tells `progress` about every read, as `stage`.
pub(crate) struct Counted<'a, R> {
    pub(crate) inner: R,
    pub(crate) progress: &'a dyn ExportProgress,
    pub(crate) stage: ExportStage,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.progress.advance(self.stage, n as u64);
        }
        Ok(n)
    }
}
