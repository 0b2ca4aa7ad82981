//! Chiller temperature probe lines (`chiller-1=3.5`, Celsius), with out-of-range values flagged.
//!
//! A value outside the configured range is still a reading: a chiller at 25 °C is exactly what
//! staff must hear about, so it is returned flagged, never dropped as an error. Only lines that
//! are not `id=number` are errors.

use thiserror::Error;

use crate::number::parse_decimal;

/// Longest probe id accepted.
pub const MAX_PROBE_ID_LEN: usize = 32;

/// Where a reading lies relative to the plausible range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeCheck {
    /// Within the range.
    InRange,
    /// Below the range minimum.
    BelowRange,
    /// Above the range maximum.
    AboveRange,
}

/// One probe reading.
#[derive(Debug, Clone, PartialEq)]
pub struct TemperatureReading {
    /// Probe id as the probe sends it (e.g. `chiller-1`).
    pub probe: String,
    /// Temperature in degrees Celsius.
    pub celsius: f64,
    /// Whether the value is plausible for the configured range.
    pub range: RangeCheck,
}

/// Why a probe line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemperatureError {
    /// Empty line (or only spaces).
    #[error("empty probe line")]
    Empty,
    /// No `=` between id and value.
    #[error("expected `id=value`")]
    MissingEquals,
    /// The id is empty, too long, or has characters other than ASCII letters, digits, `-_.:`.
    #[error("probe id must be 1..={MAX_PROBE_ID_LEN} of [A-Za-z0-9-_.:]")]
    BadProbeId,
    /// The value is not a plain decimal number (or is NaN, infinite, too long).
    #[error("temperature is not a decimal number")]
    BadNumber,
    /// A range whose bounds are not finite or whose minimum exceeds its maximum.
    #[error("temperature range needs finite bounds with min <= max")]
    BadRange,
}

/// Plausible temperatures in °C, inclusive on both ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TemperatureRange {
    min: f64,
    max: f64,
}

impl Default for TemperatureRange {
    /// -40 ..= 60 °C: beyond what a shop's chillers, freezers and rooms reach.
    fn default() -> Self {
        Self {
            min: -40.0,
            max: 60.0,
        }
    }
}

impl TemperatureRange {
    /// A range from `min` to `max` °C inclusive; both finite, `min <= max`.
    pub fn new(min: f64, max: f64) -> Result<Self, TemperatureError> {
        if min.is_finite() && max.is_finite() && min <= max {
            Ok(Self { min, max })
        } else {
            Err(TemperatureError::BadRange)
        }
    }

    /// Lowest plausible value.
    pub fn min(&self) -> f64 {
        self.min
    }

    /// Highest plausible value.
    pub fn max(&self) -> f64 {
        self.max
    }

    /// Where `celsius` lies relative to this range.
    pub fn check(&self, celsius: f64) -> RangeCheck {
        if celsius < self.min {
            RangeCheck::BelowRange
        } else if celsius > self.max {
            RangeCheck::AboveRange
        } else {
            RangeCheck::InRange
        }
    }
}

/// Parses probe lines against one plausible range.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TemperatureParser {
    /// Range outside which readings are flagged.
    pub range: TemperatureRange,
}

impl TemperatureParser {
    /// A parser flagging values outside `range`.
    pub fn new(range: TemperatureRange) -> Self {
        Self { range }
    }

    /// Parses one `id=value` line; spaces around id and value are allowed.
    pub fn parse(&self, line: &str) -> Result<TemperatureReading, TemperatureError> {
        let line = line.trim();
        if line.is_empty() {
            return Err(TemperatureError::Empty);
        }
        let (probe, value) = line
            .split_once('=')
            .ok_or(TemperatureError::MissingEquals)?;
        let probe = probe.trim();
        if probe.is_empty()
            || probe.len() > MAX_PROBE_ID_LEN
            || !probe
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        {
            return Err(TemperatureError::BadProbeId);
        }
        let celsius = parse_decimal(value.trim()).ok_or(TemperatureError::BadNumber)?;
        Ok(TemperatureReading {
            probe: probe.to_owned(),
            celsius,
            range: self.range.check(celsius),
        })
    }
}

/// Formats a reading as a probe sends it (`id=value`).
pub fn format_temperature(probe: &str, celsius: f64) -> String {
    format!("{probe}={celsius}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reading(probe: &str, celsius: f64, range: RangeCheck) -> TemperatureReading {
        TemperatureReading {
            probe: probe.to_owned(),
            celsius,
            range,
        }
    }

    #[test]
    fn plain_lines() {
        let p = TemperatureParser::default();
        assert_eq!(
            p.parse("chiller-1=3.5"),
            Ok(reading("chiller-1", 3.5, RangeCheck::InRange))
        );
        assert_eq!(
            p.parse("  freezer_2 = -18.25 \r\n"),
            Ok(reading("freezer_2", -18.25, RangeCheck::InRange))
        );
        assert_eq!(
            p.parse("room:a.1=+21"),
            Ok(reading("room:a.1", 21.0, RangeCheck::InRange))
        );
    }

    #[test]
    fn out_of_range_is_flagged_not_an_error() {
        let p = TemperatureParser::default();
        assert_eq!(p.parse("c=60"), Ok(reading("c", 60.0, RangeCheck::InRange)));
        assert_eq!(
            p.parse("c=-40"),
            Ok(reading("c", -40.0, RangeCheck::InRange))
        );
        assert_eq!(
            p.parse("c=60.01"),
            Ok(reading("c", 60.01, RangeCheck::AboveRange))
        );
        assert_eq!(
            p.parse("c=-40.5"),
            Ok(reading("c", -40.5, RangeCheck::BelowRange))
        );
        let huge = "9".repeat(20);
        assert_eq!(
            p.parse(&format!("c={huge}")).map(|r| r.range),
            Ok(RangeCheck::AboveRange)
        );
        let chiller = TemperatureParser::new(TemperatureRange::new(0.0, 8.0).expect("range"));
        assert_eq!(
            chiller.parse("c=9").map(|r| r.range),
            Ok(RangeCheck::AboveRange)
        );
    }

    #[test]
    fn garbage_is_an_error() {
        let p = TemperatureParser::default();
        let cases = [
            ("", TemperatureError::Empty),
            ("  \r\n", TemperatureError::Empty),
            ("chiller-1 3.5", TemperatureError::MissingEquals),
            ("=3.5", TemperatureError::BadProbeId),
            ("chill er=3.5", TemperatureError::BadProbeId),
            ("kühl=3.5", TemperatureError::BadProbeId),
            ("\u{fffd}=3.5", TemperatureError::BadProbeId),
            ("c=", TemperatureError::BadNumber),
            ("c=3.5C", TemperatureError::BadNumber),
            ("c=3,5", TemperatureError::BadNumber),
            ("c=NaN", TemperatureError::BadNumber),
            ("c=inf", TemperatureError::BadNumber),
            ("c=-infinity", TemperatureError::BadNumber),
            ("c=1e3", TemperatureError::BadNumber),
            ("c=3.5=4", TemperatureError::BadNumber),
        ];
        for (line, err) in cases {
            assert_eq!(p.parse(line), Err(err), "{line:?}");
        }
        let long_id = "a".repeat(MAX_PROBE_ID_LEN + 1);
        assert_eq!(
            p.parse(&format!("{long_id}=1")),
            Err(TemperatureError::BadProbeId)
        );
        let long_value = "9".repeat(400);
        assert_eq!(
            p.parse(&format!("c={long_value}")),
            Err(TemperatureError::BadNumber)
        );
    }

    #[test]
    fn ranges_must_be_sane() {
        assert_eq!(
            TemperatureRange::new(5.0, 1.0),
            Err(TemperatureError::BadRange)
        );
        assert_eq!(
            TemperatureRange::new(f64::NAN, 1.0),
            Err(TemperatureError::BadRange)
        );
        assert_eq!(
            TemperatureRange::new(0.0, f64::INFINITY),
            Err(TemperatureError::BadRange)
        );
        let r = TemperatureRange::new(2.0, 2.0).expect("point range");
        assert_eq!((r.min(), r.max()), (2.0, 2.0));
    }

    proptest! {
        #[test]
        fn never_panics_on_any_string(s in "\\PC*") {
            let _ = TemperatureParser::default().parse(&s);
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = TemperatureParser::default().parse(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn formatted_reading_round_trips(probe in "[A-Za-z0-9_.:-]{1,32}", centi in -100_000i64..100_000) {
            let celsius = centi as f64 / 100.0;
            let r = TemperatureParser::default().parse(&format_temperature(&probe, celsius));
            let range = TemperatureRange::default().check(celsius);
            prop_assert_eq!(r, Ok(TemperatureReading { probe, celsius, range }));
        }

        #[test]
        fn flag_agrees_with_the_range(centi in -10_000i64..10_000, lo in -5_000i64..0, hi in 0i64..5_000) {
            let range = TemperatureRange::new(lo as f64 / 100.0, hi as f64 / 100.0).expect("lo <= hi");
            let celsius = centi as f64 / 100.0;
            let r = TemperatureParser::new(range).parse(&format!("p={celsius}")).expect("valid line");
            let inside = celsius >= range.min() && celsius <= range.max();
            prop_assert_eq!(r.range == RangeCheck::InRange, inside);
        }
    }
}
