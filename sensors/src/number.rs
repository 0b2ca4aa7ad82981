//! Strict decimal numbers as shelf devices print them (`-12.345`), shared by the parsers.

/// Longest numeric field accepted; longer fields are garbage, not readings.
pub(crate) const MAX_NUMBER_LEN: usize = 24;

/// Parses `[+-]?digits[.digits]` (or `[+-]?.digits`) into a finite f64.
///
/// Rejects what `f64::from_str` would accept but no device sends: `inf`, `NaN`, exponents,
/// underscores, hex, and fields longer than [`MAX_NUMBER_LEN`].
pub(crate) fn parse_decimal(s: &str) -> Option<f64> {
    if s.is_empty() || s.len() > MAX_NUMBER_LEN {
        return None;
    }
    let bytes = s.as_bytes();
    let body = match bytes[0] {
        b'+' | b'-' => &bytes[1..],
        _ => bytes,
    };
    let mut digits = 0usize;
    let mut dots = 0usize;
    for &b in body {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => dots += 1,
            _ => return None,
        }
    }
    if digits == 0 || dots > 1 {
        return None;
    }
    let value: f64 = s.parse().ok()?;
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::parse_decimal;

    #[test]
    fn accepts_device_decimals() {
        assert_eq!(parse_decimal("12.345"), Some(12.345));
        assert_eq!(parse_decimal("-0.002"), Some(-0.002));
        assert_eq!(parse_decimal("+7"), Some(7.0));
        assert_eq!(parse_decimal(".5"), Some(0.5));
        assert_eq!(parse_decimal("5."), Some(5.0));
    }

    #[test]
    fn rejects_what_devices_never_send() {
        for s in [
            "", "-", ".", "+.", "1.2.3", "inf", "-inf", "NaN", "nan", "1e5", "0x10", "1_000", "١٢",
            " 1", "1 ", "--1",
        ] {
            assert_eq!(parse_decimal(s), None, "{s:?}");
        }
        let huge = "9".repeat(MAX + 1);
        assert_eq!(parse_decimal(&huge), None);
    }

    const MAX: usize = super::MAX_NUMBER_LEN;
}
