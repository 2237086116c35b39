//! Who records: the operator and the station.

use crate::error::{Error, Result};

pub(crate) fn check_text(field: &'static str, s: &str, max: usize) -> Result<()> {
    if s.trim().is_empty() {
        return Err(Error::InvalidText {
            field,
            why: "it is empty",
        });
    }
    if s.len() > max {
        return Err(Error::InvalidText {
            field,
            why: "it is too long",
        });
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::InvalidText {
            field,
            why: "it contains a control character",
        });
    }
    Ok(())
}

/// Who records: the operator and the station.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    operator: String,
    station: String,
}

impl Actor {
    /// An operator (a person) at a station (a host). Both must be non-empty single-line text.
    pub fn new(operator: impl Into<String>, station: impl Into<String>) -> Result<Self> {
        let (operator, station) = (operator.into(), station.into());
        for (field, s) in [("operator", &operator), ("station", &station)] {
            check_text(field, s, 200)?;
            if s.contains('\n') || s.contains('\t') {
                return Err(Error::InvalidText {
                    field,
                    why: "it must be a single line",
                });
            }
        }
        Ok(Self { operator, station })
    }
    /// The operator.
    pub fn operator(&self) -> &str {
        &self.operator
    }
    /// The station.
    pub fn station(&self) -> &str {
        &self.station
    }
}
