//! Fuzzes the line framer: no panic, lines bounded and free of line ends, and the outcome does
//! not depend on how the bytes were split into reads.
#![no_main]

use edge_sensors::{Framed, LineFramer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&head, bytes)) = data.split_first() else {
        return;
    };
    let max = usize::from(head % 64) + 1;
    let mut whole = LineFramer::new(max);
    let expected = whole.push(bytes);
    for out in &expected {
        match out {
            Framed::Line(l) => {
                assert!(!l.is_empty() && l.len() <= max);
                assert!(!l.contains(['\r', '\n']));
            }
            Framed::Overlong { len } => assert!(*len > max),
            Framed::NotUtf8 { len } => assert!(*len >= 1 && *len <= max),
        }
    }
    let step = usize::from(head / 64) + 1;
    let mut pieces = LineFramer::new(max);
    let mut got = Vec::new();
    for chunk in bytes.chunks(step) {
        got.extend(pieces.push(chunk));
    }
    assert_eq!(got, expected);
    assert_eq!(pieces.counters(), whole.counters());
});
