//! The chat, e-mail and tracking readers on any bytes: the first byte picks
//! the kind, the rest is the file. No line of a chat read line by line may
//! be lost (in no message and no record not read).
#![no_main]

use evault_core::EvidenceKind;
use evault_export::timeline::read;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((first, file)) = data.split_first() else {
        return;
    };
    let kind = match first % 3 {
        0 => EvidenceKind::ChatLog,
        1 => EvidenceKind::TrackingEvents,
        _ => EvidenceKind::Email,
    };
    if let Some(reading) = read(kind, 7, file) {
        assert!(reading.events().all(|e| e.seq == 7));
        // No line of a chat read line by line is lost.
        if let Some(text) = evault_export::timeline::decode(file) {
            assert_eq!(reading.unaccounted_lines(&text), Vec::<usize>::new());
        }
    }
});
