//! Fuzzes the barcode parser: no panic; accepted EAN/UPC codes carry a correct check digit.
#![no_main]

use edge_sensors::barcode::{gtin_check_digit, parse_barcode};
use edge_sensors::Symbology;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    if let Ok(code) = parse_barcode(&line) {
        assert!(!code.code.is_empty());
        if code.symbology != Symbology::Other {
            let (body, check) = code.code.split_at(code.code.len() - 1);
            assert_eq!(gtin_check_digit(body), Some(check.as_bytes()[0] - b'0'));
        }
    }
});
