//! Fuzzes both scale parsers: no panic, and every weight they return is finite.
#![no_main]

use edge_sensors::scale::{parse_channel_grams, parse_sics};
use edge_sensors::ScaleMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    if let Ok(ScaleMessage::Reading(r)) = parse_sics(&line, 0) {
        assert!(r.grams.is_finite());
    }
    if let Ok(r) = parse_channel_grams(&line) {
        assert!(r.grams.is_finite());
    }
});
