//! Fuzzes the probe parser: no panic; accepted readings are finite and flagged consistently.
#![no_main]

use edge_sensors::{RangeCheck, TemperatureParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let parser = TemperatureParser::default();
    if let Ok(r) = parser.parse(&line) {
        assert!(r.celsius.is_finite());
        let inside = r.celsius >= parser.range.min() && r.celsius <= parser.range.max();
        assert_eq!(r.range == RangeCheck::InRange, inside);
    }
});
