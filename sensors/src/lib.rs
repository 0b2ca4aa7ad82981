//! Sensors: serial shelf devices (scales and load-cell boards, barcode scanners, chiller probes).
//!
//! Pure protocol parsers and a pure line framer sit beside a thin I/O shell, the reconnecting
//! serial line reader; cameras and simulated devices join later (issue 5).

#![warn(missing_docs)]

pub mod barcode;
pub mod framer;
pub mod health;
mod number;
pub mod scale;
pub mod serial;
pub mod temperature;

pub use barcode::{Barcode, BarcodeError, Symbology};
pub use framer::{Framed, LineFramer};
pub use health::{BadLine, DeviceCounters, DeviceHealth, HealthState, HealthTracker};
pub use scale::{
    ScaleError, ScaleMessage, ScaleProtocol, ScaleReading, ScaleStatus, Stability, Tare, SICS_POLL,
};
pub use serial::{
    Backoff, SerialError, SerialLineReader, SerialParity, SerialPoll, SerialSettings,
};
pub use temperature::{
    RangeCheck, TemperatureError, TemperatureParser, TemperatureRange, TemperatureReading,
};
