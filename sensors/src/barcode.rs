//! Barcode scanner lines: one code per line; EAN-13, EAN-8 and UPC-A check digits validated.
//!
//! A line of exactly 13, 12 or 8 digits is always treated as EAN-13, UPC-A or EAN-8 and must
//! carry a correct check digit, otherwise it is rejected (the caller counts rejections). Any
//! other printable ASCII line (Code 128 text, a GTIN-14, a loyalty card) is passed on as
//! [`Symbology::Other`] without a check: those symbologies check themselves in the scanner.
//! Scanners must send UPC-E expanded to UPC-A (a standard scanner setting): an 8-digit UPC-E
//! would be checked as EAN-8 and rejected.

use thiserror::Error;

/// Longest code accepted; longer lines are garbage, not scans.
pub const MAX_CODE_LEN: usize = 80;

/// Which kind of code a line carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symbology {
    /// 13-digit EAN (GTIN-13), check digit verified.
    Ean13,
    /// 8-digit EAN (GTIN-8), check digit verified.
    Ean8,
    /// 12-digit UPC-A (GTIN-12), check digit verified.
    UpcA,
    /// Any other printable code, passed on unchecked.
    Other,
}

/// One scanned code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Barcode {
    /// Kind of code.
    pub symbology: Symbology,
    /// The code as scanned, without surrounding spaces and line ends.
    pub code: String,
}

/// Why a scanner line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BarcodeError {
    /// Empty line (or only spaces).
    #[error("empty scan")]
    Empty,
    /// The check digit does not match the other digits.
    #[error("{symbology:?} check digit is {found}, expected {expected}")]
    BadCheckDigit {
        /// Symbology the digits were checked as.
        symbology: Symbology,
        /// Check digit computed from the other digits.
        expected: u8,
        /// Check digit on the line.
        found: u8,
    },
    /// The line has bytes outside printable ASCII (line noise, wrong baud rate).
    #[error("scan contains non-printable or non-ASCII characters")]
    NotPrintable,
    /// Longer than [`MAX_CODE_LEN`].
    #[error("scan longer than {MAX_CODE_LEN} characters")]
    TooLong,
}

/// Parses one scanner line into a code, validating EAN-13, EAN-8 and UPC-A check digits.
pub fn parse_barcode(line: &str) -> Result<Barcode, BarcodeError> {
    let code = line.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r' || c == '\n');
    if code.is_empty() {
        return Err(BarcodeError::Empty);
    }
    if code.len() > MAX_CODE_LEN {
        return Err(BarcodeError::TooLong);
    }
    if !code.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(BarcodeError::NotPrintable);
    }
    let symbology = if code.bytes().all(|b| b.is_ascii_digit()) {
        match code.len() {
            13 => Symbology::Ean13,
            12 => Symbology::UpcA,
            8 => Symbology::Ean8,
            _ => Symbology::Other,
        }
    } else {
        Symbology::Other
    };
    if symbology != Symbology::Other {
        let (body, check) = code.split_at(code.len() - 1);
        let found = check.as_bytes()[0] - b'0';
        let expected = gtin_check_digit(body).ok_or(BarcodeError::NotPrintable)?;
        if found != expected {
            return Err(BarcodeError::BadCheckDigit {
                symbology,
                expected,
                found,
            });
        }
    }
    Ok(Barcode {
        symbology,
        code: code.to_owned(),
    })
}

/// The GS1 mod-10 check digit for `body` (all digits but the check digit), or `None` if `body`
/// is empty or not all ASCII digits. Weights are 3,1,3,... from the rightmost body digit, which
/// is the same rule for EAN-13, EAN-8, UPC-A and GTIN-14.
pub fn gtin_check_digit(body: &str) -> Option<u8> {
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    // sum % 10 < 10, so the result fits a u8.
    Some(((10 - sum % 10) % 10) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(symbology: Symbology, code: &str) -> Result<Barcode, BarcodeError> {
        Ok(Barcode {
            symbology,
            code: code.to_owned(),
        })
    }

    #[test]
    fn real_codes_pass() {
        // Published examples: GS1 EAN-13, EAN-8 from a GS1 sample, UPC-A from a Coca-Cola can.
        assert_eq!(
            parse_barcode("5901234123457"),
            ok(Symbology::Ean13, "5901234123457")
        );
        assert_eq!(
            parse_barcode("4006381333931"),
            ok(Symbology::Ean13, "4006381333931")
        );
        assert_eq!(parse_barcode("96385074"), ok(Symbology::Ean8, "96385074"));
        assert_eq!(parse_barcode("73513537"), ok(Symbology::Ean8, "73513537"));
        assert_eq!(
            parse_barcode("036000291452"),
            ok(Symbology::UpcA, "036000291452")
        );
        assert_eq!(
            parse_barcode("049000042566"),
            ok(Symbology::UpcA, "049000042566")
        );
    }

    #[test]
    fn wrong_check_digits_are_rejected_with_the_expected_digit() {
        assert_eq!(
            parse_barcode("5901234123458"),
            Err(BarcodeError::BadCheckDigit {
                symbology: Symbology::Ean13,
                expected: 7,
                found: 8
            })
        );
        assert_eq!(
            parse_barcode("96385075"),
            Err(BarcodeError::BadCheckDigit {
                symbology: Symbology::Ean8,
                expected: 4,
                found: 5
            })
        );
        assert_eq!(
            parse_barcode("036000291453"),
            Err(BarcodeError::BadCheckDigit {
                symbology: Symbology::UpcA,
                expected: 2,
                found: 3
            })
        );
    }

    #[test]
    fn spaces_and_line_ends_are_trimmed() {
        assert_eq!(
            parse_barcode("  5901234123457 \r\n"),
            ok(Symbology::Ean13, "5901234123457")
        );
        assert_eq!(parse_barcode("\t \r\n"), Err(BarcodeError::Empty));
        assert_eq!(parse_barcode(""), Err(BarcodeError::Empty));
    }

    #[test]
    fn other_printable_codes_pass_unchecked() {
        assert_eq!(
            parse_barcode("ABC-123 x"),
            ok(Symbology::Other, "ABC-123 x")
        );
        assert_eq!(
            parse_barcode("10012345678902"),
            ok(Symbology::Other, "10012345678902")
        );
        assert_eq!(parse_barcode("1234567"), ok(Symbology::Other, "1234567"));
    }

    #[test]
    fn garbage_is_rejected() {
        assert_eq!(
            parse_barcode("59012\u{0}34123457"),
            Err(BarcodeError::NotPrintable)
        );
        assert_eq!(parse_barcode("kühl"), Err(BarcodeError::NotPrintable));
        assert_eq!(
            parse_barcode("\u{fffd}\u{fffd}"),
            Err(BarcodeError::NotPrintable)
        );
        assert_eq!(parse_barcode("١٢٣٤٥٦٧٨"), Err(BarcodeError::NotPrintable));
        assert_eq!(
            parse_barcode(&"1".repeat(MAX_CODE_LEN + 1)),
            Err(BarcodeError::TooLong)
        );
    }

    #[test]
    fn check_digit_helper() {
        assert_eq!(gtin_check_digit("590123412345"), Some(7));
        assert_eq!(gtin_check_digit("03600029145"), Some(2));
        assert_eq!(gtin_check_digit(""), None);
        assert_eq!(gtin_check_digit("12a"), None);
    }

    fn with_check(body: &str) -> String {
        let check = gtin_check_digit(body).expect("digit body");
        format!("{body}{check}")
    }

    proptest! {
        #[test]
        fn never_panics_on_any_string(s in "\\PC*") {
            let _ = parse_barcode(&s);
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = parse_barcode(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn valid_codes_round_trip(body in "([0-9]{12}|[0-9]{11}|[0-9]{7})") {
            let code = with_check(&body);
            let parsed = parse_barcode(&format!(" {code}\r\n"));
            let symbology = match code.len() { 13 => Symbology::Ean13, 12 => Symbology::UpcA, _ => Symbology::Ean8 };
            prop_assert_eq!(parsed, Ok(Barcode { symbology, code }));
        }

        #[test]
        fn one_changed_digit_always_fails_the_check(
            body in "([0-9]{12}|[0-9]{11}|[0-9]{7})",
            pos in any::<prop::sample::Index>(),
            delta in 1u8..10,
        ) {
            let mut code = with_check(&body).into_bytes();
            let i = pos.index(code.len());
            code[i] = b'0' + (code[i] - b'0' + delta) % 10;
            let code = String::from_utf8(code).expect("digits");
            let is_bad_check = matches!(parse_barcode(&code), Err(BarcodeError::BadCheckDigit { .. }));
            prop_assert!(is_bad_check, "{}", code);
        }

        #[test]
        fn swapping_adjacent_unequal_digits_of_different_weight_fails(
            body in "([0-9]{12}|[0-9]{11}|[0-9]{7})",
            pos in any::<prop::sample::Index>(),
        ) {
            // The mod-10 check catches adjacent swaps unless the digits differ by 5.
            let mut code = with_check(&body).into_bytes();
            let i = pos.index(code.len() - 1);
            let (a, b) = (code[i], code[i + 1]);
            prop_assume!(a != b && a.abs_diff(b) != 5);
            code.swap(i, i + 1);
            let code = String::from_utf8(code).expect("digits");
            prop_assert!(parse_barcode(&code).is_err(), "{}", code);
        }
    }
}
