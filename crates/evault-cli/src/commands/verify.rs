//! `evault verify`.

use anyhow::Result;
use evault_core::VerifyOptions;

use crate::cli::Global;
use crate::output::size;
use crate::{Status, out, settings};

pub fn verify(g: &Global, order: Option<&str>, fast: bool, json: bool) -> Result<Status> {
    let order = order.map(settings::order).transpose()?;
    let vault = settings::open(g)?;
    let report = vault.verify(&VerifyOptions { order, fast })?;
    let status = if report.ok() {
        Status::Ok
    } else {
        Status::Problem
    };
    crate::output::printed(status, || {
        if json {
            out!("{}", serde_json::to_string_pretty(&report)?);
            return Ok(());
        }
        for f in &report.findings {
            out!("{f}");
        }
        let verdict = if report.ok() { "OK" } else { "PROBLEMS FOUND" };
        let problems = report
            .findings
            .iter()
            .filter(|f| f.severity == evault_core::Severity::Problem)
            .count();
        out!(
            "verify: {verdict}: {} orders, {} entries, {} blobs ({}) re-hashed with {}; {problems} problems, {} notices",
            report.orders,
            report.entries,
            report.blobs,
            size(report.bytes),
            if report.fast {
                "BLAKE3"
            } else {
                "SHA-256 and BLAKE3"
            },
            report.findings.len() - problems
        );
        Ok(())
    })
}
