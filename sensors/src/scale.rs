//! Scale protocols: the Mettler-Toledo SICS subset of shelf scales and the `channel,grams` lines
//! of microcontroller load-cell boards, parsed into typed readings, plus per-channel tare.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::number::parse_decimal;

/// The SICS poll command: "send the weight immediately" (`SI`), to write to a polled scale.
pub const SICS_POLL: &[u8] = b"SI\r\n";

/// Grams per avoirdupois pound.
const GRAMS_PER_POUND: f64 = 453.592_37;

/// Scale channels as load-cell boards number them (a SICS scale gets its channel from config).
pub type Channel = u16;

/// Whether the scale considered the weight settled when it sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stability {
    /// Settled weight (SICS `S S`).
    Stable,
    /// Weight still moving (SICS `S D`): someone is touching the shelf.
    Dynamic,
    /// The protocol carries no stability flag (the `channel,grams` board format).
    Unreported,
}

/// A weight on one scale channel, in grams.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleReading {
    /// Scale channel the weight belongs to.
    pub channel: Channel,
    /// Net weight in grams (before tare unless [`Tare::apply`] was used).
    pub grams: f64,
    /// Whether the weight was settled.
    pub stability: Stability,
}

/// A scale answer that is not a weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleStatus {
    /// `S +`: load above the weighing range.
    Overload,
    /// `S -`: load below the weighing range (e.g. the pan was lifted).
    Underload,
    /// `S I`: command not executable now (balance busy, e.g. taring or zeroing).
    Busy,
    /// `ES`: the scale did not understand the command (syntax error).
    SyntaxError,
    /// `ET`: the scale received a garbled command (transmission error).
    TransmissionError,
    /// `EL`: the command was understood but cannot be executed (logical error).
    LogicalError,
}

/// One parsed scale line: a weight or a status.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScaleMessage {
    /// A weight.
    Reading(ScaleReading),
    /// A status or error answer.
    Status(ScaleStatus),
}

/// Why a scale line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScaleError {
    /// The line was empty or only spaces.
    #[error("empty scale line")]
    Empty,
    /// The line is no SICS answer this parser knows.
    #[error("unrecognised SICS response")]
    UnknownResponse,
    /// The weight field is not a plain decimal number (or is NaN, infinite, too long).
    #[error("weight is not a decimal number")]
    BadNumber,
    /// The unit is none of g, kg, lb.
    #[error("unknown weight unit")]
    UnknownUnit,
    /// The line is not `channel,grams`.
    #[error("expected `channel,grams`")]
    BadChannelLine,
    /// The channel is not a number in 0..=65535.
    #[error("channel is not a number in 0..=65535")]
    BadChannel,
    /// A tare offset must be a finite number of grams.
    #[error("tare must be a finite number of grams")]
    BadTare,
}

/// Which line format a scale speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleProtocol {
    /// SICS; readings are reported on the given channel.
    Sics {
        /// Channel assigned to this scale in the config.
        channel: Channel,
    },
    /// `channel,grams` lines from a load-cell board.
    ChannelGrams,
}

impl ScaleProtocol {
    /// Parses one line in this protocol.
    pub fn parse(&self, line: &str) -> Result<ScaleMessage, ScaleError> {
        match *self {
            ScaleProtocol::Sics { channel } => parse_sics(line, channel),
            ScaleProtocol::ChannelGrams => parse_channel_grams(line).map(ScaleMessage::Reading),
        }
    }
}

/// Parses one SICS answer line (`S S     12.345 kg`, `S I`, `ES`, ...) for scale `channel`.
pub fn parse_sics(line: &str, channel: Channel) -> Result<ScaleMessage, ScaleError> {
    let mut fields = line.split_ascii_whitespace();
    let first = fields.next().ok_or(ScaleError::Empty)?;
    let second = fields.next();
    let status = |s: ScaleStatus, rest: &mut std::str::SplitAsciiWhitespace<'_>| {
        if rest.next().is_some() {
            Err(ScaleError::UnknownResponse)
        } else {
            Ok(ScaleMessage::Status(s))
        }
    };
    match (first, second) {
        ("ES", None) => Ok(ScaleMessage::Status(ScaleStatus::SyntaxError)),
        ("ET", None) => Ok(ScaleMessage::Status(ScaleStatus::TransmissionError)),
        ("EL", None) => Ok(ScaleMessage::Status(ScaleStatus::LogicalError)),
        ("S", Some("I")) => status(ScaleStatus::Busy, &mut fields),
        ("S", Some("+")) => status(ScaleStatus::Overload, &mut fields),
        ("S", Some("-")) => status(ScaleStatus::Underload, &mut fields),
        ("S", Some(flag @ ("S" | "D"))) => {
            let stability = if flag == "S" {
                Stability::Stable
            } else {
                Stability::Dynamic
            };
            let value = fields.next().ok_or(ScaleError::BadNumber)?;
            let unit = fields.next().ok_or(ScaleError::UnknownUnit)?;
            if fields.next().is_some() {
                return Err(ScaleError::UnknownResponse);
            }
            let value = parse_decimal(value).ok_or(ScaleError::BadNumber)?;
            let grams = to_grams(value, unit)?;
            Ok(ScaleMessage::Reading(ScaleReading {
                channel,
                grams,
                stability,
            }))
        }
        _ => Err(ScaleError::UnknownResponse),
    }
}

/// Parses one `channel,grams` line from a load-cell board (e.g. `3,1234.5`).
pub fn parse_channel_grams(line: &str) -> Result<ScaleReading, ScaleError> {
    let line = line.trim();
    if line.is_empty() {
        return Err(ScaleError::Empty);
    }
    let (channel, grams) = line.split_once(',').ok_or(ScaleError::BadChannelLine)?;
    let channel = channel.trim();
    if channel.is_empty() || channel.len() > 5 || !channel.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ScaleError::BadChannel);
    }
    let channel: Channel = channel.parse().map_err(|_| ScaleError::BadChannel)?;
    let grams = parse_decimal(grams.trim()).ok_or(ScaleError::BadNumber)?;
    Ok(ScaleReading {
        channel,
        grams,
        stability: Stability::Unreported,
    })
}

/// Formats a weight as a SICS answer in grams, as a scale (or a simulated scale) sends it.
pub fn format_sics(grams: f64, stability: Stability) -> String {
    let flag = match stability {
        Stability::Dynamic => 'D',
        Stability::Stable | Stability::Unreported => 'S',
    };
    format!("S {flag} {grams:>10.3} g")
}

fn to_grams(value: f64, unit: &str) -> Result<f64, ScaleError> {
    let grams = match unit {
        "g" => value,
        "kg" => value * 1000.0,
        "lb" => value * GRAMS_PER_POUND,
        _ => return Err(ScaleError::UnknownUnit),
    };
    if grams.is_finite() {
        Ok(grams)
    } else {
        Err(ScaleError::BadNumber)
    }
}

/// Tare per scale channel: grams to subtract (shelf tray, empty bin) before stock is computed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tare {
    grams: BTreeMap<Channel, f64>,
}

impl Tare {
    /// No tare on any channel.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the tare of `channel`; refuses NaN and infinities.
    pub fn set(&mut self, channel: Channel, grams: f64) -> Result<(), ScaleError> {
        if !grams.is_finite() {
            return Err(ScaleError::BadTare);
        }
        self.grams.insert(channel, grams);
        Ok(())
    }

    /// The tare of `channel` (0 when none is set).
    pub fn get(&self, channel: Channel) -> f64 {
        self.grams.get(&channel).copied().unwrap_or(0.0)
    }

    /// The reading with its channel's tare subtracted.
    pub fn apply(&self, reading: ScaleReading) -> ScaleReading {
        ScaleReading {
            grams: reading.grams - self.get(reading.channel),
            ..reading
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reading(channel: Channel, grams: f64, stability: Stability) -> ScaleMessage {
        ScaleMessage::Reading(ScaleReading {
            channel,
            grams,
            stability,
        })
    }

    #[test]
    fn sics_weights_in_every_unit() {
        assert_eq!(
            parse_sics("S S     12.345 kg", 0),
            Ok(reading(0, 12345.0, Stability::Stable))
        );
        assert_eq!(
            parse_sics("S D     12.340 kg", 2),
            Ok(reading(2, 12340.0, Stability::Dynamic))
        );
        assert_eq!(
            parse_sics("S S    -0.5 g", 0),
            Ok(reading(0, -0.5, Stability::Stable))
        );
        let Ok(ScaleMessage::Reading(r)) = parse_sics("S S 2.000 lb", 1) else {
            panic!("lb must parse");
        };
        assert!((r.grams - 907.18474).abs() < 1e-9);
    }

    #[test]
    fn sics_statuses() {
        let cases = [
            ("S I", ScaleStatus::Busy),
            ("S +", ScaleStatus::Overload),
            ("S -", ScaleStatus::Underload),
            ("ES", ScaleStatus::SyntaxError),
            ("EL", ScaleStatus::LogicalError),
            ("ET", ScaleStatus::TransmissionError),
            ("  S   I  ", ScaleStatus::Busy),
        ];
        for (line, status) in cases {
            assert_eq!(
                parse_sics(line, 0),
                Ok(ScaleMessage::Status(status)),
                "{line:?}"
            );
        }
    }

    #[test]
    fn sics_tolerates_surrounding_spaces_and_line_ends_left_by_callers() {
        assert_eq!(
            parse_sics("  S S 1.5 kg \r\n", 0),
            Ok(reading(0, 1500.0, Stability::Stable))
        );
    }

    #[test]
    fn sics_rejects_garbage() {
        let cases = [
            ("", ScaleError::Empty),
            ("   ", ScaleError::Empty),
            ("S", ScaleError::UnknownResponse),
            ("S X 1 g", ScaleError::UnknownResponse),
            ("SI", ScaleError::UnknownResponse),
            ("S I extra", ScaleError::UnknownResponse),
            ("ES ES", ScaleError::UnknownResponse),
            ("S S", ScaleError::BadNumber),
            ("S S 12.3", ScaleError::UnknownUnit),
            ("S S 12.3 t", ScaleError::UnknownUnit),
            ("S S 12.3 KG", ScaleError::UnknownUnit),
            ("S S 12.3 kg kg", ScaleError::UnknownResponse),
            ("S S NaN kg", ScaleError::BadNumber),
            ("S S inf kg", ScaleError::BadNumber),
            ("S S -inf g", ScaleError::BadNumber),
            ("S S 1e3 g", ScaleError::BadNumber),
            ("S S 1.2.3 g", ScaleError::BadNumber),
            ("S S ١٢ g", ScaleError::BadNumber),
            ("S S 12,3 g", ScaleError::BadNumber),
            ("\u{fffd}\u{0}", ScaleError::UnknownResponse),
        ];
        for (line, err) in cases {
            assert_eq!(parse_sics(line, 0), Err(err), "{line:?}");
        }
        let huge = format!("S S {} kg", "9".repeat(400));
        assert_eq!(parse_sics(&huge, 0), Err(ScaleError::BadNumber));
    }

    #[test]
    fn channel_grams_lines() {
        let r = |channel, grams| {
            Ok(ScaleReading {
                channel,
                grams,
                stability: Stability::Unreported,
            })
        };
        assert_eq!(parse_channel_grams("3,1234.5"), r(3, 1234.5));
        assert_eq!(parse_channel_grams("  0 , -2 \r"), r(0, -2.0));
        assert_eq!(parse_channel_grams("65535,0"), r(65535, 0.0));
        let bad = [
            ("", ScaleError::Empty),
            ("3", ScaleError::BadChannelLine),
            ("3;12", ScaleError::BadChannelLine),
            (",12", ScaleError::BadChannel),
            ("-1,12", ScaleError::BadChannel),
            ("65536,12", ScaleError::BadChannel),
            ("999999,1", ScaleError::BadChannel),
            ("a,12", ScaleError::BadChannel),
            ("3,", ScaleError::BadNumber),
            ("3,12,4", ScaleError::BadNumber),
            ("3,NaN", ScaleError::BadNumber),
            ("3,inf", ScaleError::BadNumber),
            ("3,1e400", ScaleError::BadNumber),
        ];
        for (line, err) in bad {
            assert_eq!(parse_channel_grams(line), Err(err), "{line:?}");
        }
    }

    #[test]
    fn protocol_dispatch() {
        assert_eq!(
            ScaleProtocol::Sics { channel: 7 }.parse("S S 1 g"),
            Ok(reading(7, 1.0, Stability::Stable))
        );
        assert_eq!(
            ScaleProtocol::ChannelGrams.parse("4,2"),
            Ok(reading(4, 2.0, Stability::Unreported))
        );
    }

    #[test]
    fn poll_command_is_si_crlf() {
        assert_eq!(SICS_POLL, b"SI\r\n");
    }

    #[test]
    fn tare_is_per_channel() {
        let mut tare = Tare::new();
        tare.set(1, 250.0).expect("finite tare");
        assert_eq!(tare.set(2, f64::NAN), Err(ScaleError::BadTare));
        assert_eq!(tare.set(2, f64::INFINITY), Err(ScaleError::BadTare));
        let on = |channel| ScaleReading {
            channel,
            grams: 1000.0,
            stability: Stability::Stable,
        };
        assert_eq!(tare.apply(on(1)).grams, 750.0);
        assert_eq!(tare.apply(on(2)).grams, 1000.0);
        assert_eq!(tare.apply(on(1)).stability, Stability::Stable);
    }

    proptest! {
        #[test]
        fn parsers_never_panic_on_any_string(s in "\\PC*") {
            let _ = parse_sics(&s, 0);
            let _ = parse_channel_grams(&s);
        }

        #[test]
        fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let s = String::from_utf8_lossy(&bytes);
            let _ = parse_sics(&s, 0);
            let _ = parse_channel_grams(&s);
        }

        #[test]
        fn formatted_sics_reading_round_trips(milligrams in -10_000_000_000i64..10_000_000_000, dynamic in any::<bool>(), channel in any::<u16>()) {
            let grams = milligrams as f64 / 1000.0;
            let stability = if dynamic { Stability::Dynamic } else { Stability::Stable };
            let line = format_sics(grams, stability);
            let parsed = parse_sics(&line, channel);
            let Ok(ScaleMessage::Reading(r)) = parsed else {
                return Err(TestCaseError::fail(format!("{line:?} -> {parsed:?}")));
            };
            prop_assert_eq!(r.channel, channel);
            prop_assert_eq!(r.stability, stability);
            prop_assert!((r.grams - grams).abs() < 1e-6, "{} vs {}", r.grams, grams);
        }

        #[test]
        fn formatted_channel_line_round_trips(channel in any::<u16>(), centigrams in -1_000_000_000i64..1_000_000_000) {
            let grams = centigrams as f64 / 100.0;
            let line = format!("{channel},{grams}");
            let r = parse_channel_grams(&line);
            prop_assert_eq!(r, Ok(ScaleReading { channel, grams, stability: Stability::Unreported }));
        }

        #[test]
        fn parsed_weights_are_always_finite(value in "[-+]?[0-9]{0,30}\\.?[0-9]{0,30}", unit in "(g|kg|lb)") {
            if let Ok(ScaleMessage::Reading(r)) = parse_sics(&format!("S S {value} {unit}"), 0) {
                prop_assert!(r.grams.is_finite());
            }
        }
    }
}
