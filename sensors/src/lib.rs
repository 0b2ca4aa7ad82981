//! Sensors: shelf cameras and serial shelf devices (scales and load-cell boards, barcode
//! scanners, chiller probes).
//!
//! Pure protocol parsers and a pure line framer sit beside thin I/O shells: the reconnecting
//! serial line reader, and camera frame sources (V4L2 behind the `camera` feature, snapshot
//! files, folders, synthetic) run by a capture thread. Simulated devices join later (issue 5).

#![warn(missing_docs)]

pub mod barcode;
pub mod camera;
pub mod framer;
pub mod health;
mod number;
pub mod scale;
pub mod serial;
pub mod sim;
pub mod temperature;

pub use barcode::{Barcode, BarcodeError, Symbology};
pub use camera::{
    list_cameras, snapshot, snapshot_bounded, CameraError, CameraHealth, CameraInfo,
    CameraSettings, CaptureSettings, CaptureThread, FolderSource, Frame, FrameFormat, FrameSource,
    ImageFileSource, NoFrame, PixelFormat, PollSettings, SyntheticSource, V4lSource,
};
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
