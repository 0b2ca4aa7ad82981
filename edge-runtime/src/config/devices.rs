//! The shelf devices of the config: `[[cameras]]`, `[[scales]]` and `[[scanners]]`, and their
//! checks. Which camera and scale serve which slot is the planogram's business (matched by id
//! when the stock stage starts); this file only makes sure each device can be opened as written.

use super::document::Step;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// Frames per second when `fps` is not given.
const DEFAULT_FPS: f64 = 5.0;
/// Seconds without a frame before a camera counts as offline, when not given.
const DEFAULT_FRAME_TIMEOUT_SECS: u64 = 20;
/// Baud rate when not given: what most shelf scales and scanners ship with.
const DEFAULT_BAUD: u32 = 9600;

fn default_fps() -> f64 {
    DEFAULT_FPS
}

fn default_frame_timeout() -> u64 {
    DEFAULT_FRAME_TIMEOUT_SECS
}

fn default_baud() -> u32 {
    DEFAULT_BAUD
}

/// One shelf camera (`[[cameras]]`); `id` is the planogram camera it films.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// The planogram's camera id.
    pub id: String,
    /// `/dev/videoN` (V4L2, needs the `camera` build feature), `file:PATH` (a snapshot file a
    /// network camera rewrites) or `folder:PATH` (a folder it drops JPEG/PNG pictures into).
    pub source: String,
    /// Frame width to request; unset: the planogram's.
    #[serde(default)]
    pub width: Option<u32>,
    /// Frame height to request; unset: the planogram's.
    #[serde(default)]
    pub height: Option<u32>,
    /// Frames per second to read (V4L2) or polls per second (file, folder).
    #[serde(default = "default_fps")]
    pub fps: f64,
    /// Pixel format to ask a V4L2 camera for.
    #[serde(default)]
    pub format: CameraFormat,
    /// Seconds without a good frame before the camera counts as offline.
    #[serde(default = "default_frame_timeout")]
    pub frame_timeout_secs: u64,
}

/// Pixel format of a V4L2 camera.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CameraFormat {
    /// Motion JPEG: small over USB, decoded here (the default).
    #[default]
    Mjpeg,
    /// YUYV 4:2:2: no decoding, twice the USB bandwidth of a frame's pixels.
    Yuyv,
}

/// Where a camera's frames come from, parsed from [`CameraConfig::source`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraSource {
    /// A V4L2 device path.
    V4l(String),
    /// A snapshot file, re-read when it changes.
    File(PathBuf),
    /// A folder; its newest complete picture is read.
    Folder(PathBuf),
}

impl CameraConfig {
    /// The parsed `source`, or why it is not one.
    pub fn camera_source(&self) -> Result<CameraSource, String> {
        let source = self.source.trim();
        let absolute = |kind: &str, path: &str| {
            if path.starts_with('/') {
                Ok(PathBuf::from(path))
            } else {
                Err(format!(
                    "source {:?}: the {kind} path must be absolute, e.g. \"{kind}:/srv/cameras/{}\"",
                    self.source, self.id
                ))
            }
        };
        if let Some(path) = source.strip_prefix("file:") {
            absolute("file", path).map(CameraSource::File)
        } else if let Some(path) = source.strip_prefix("folder:") {
            absolute("folder", path).map(CameraSource::Folder)
        } else if source.starts_with("/dev/") {
            Ok(CameraSource::V4l(source.to_string()))
        } else {
            Err(format!(
                "source {:?} is not a camera: write a V4L2 device (\"/dev/video0\"), \
                 \"file:/path/snapshot.jpg\" or \"folder:/path/to/pictures\"",
                self.source
            ))
        }
    }
}

/// Parity of a serial line as written in the config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    /// No parity bit (8N1).
    #[default]
    None,
    /// Odd parity.
    Odd,
    /// Even parity.
    Even,
}

impl From<Parity> for edge_sensors::SerialParity {
    fn from(p: Parity) -> Self {
        match p {
            Parity::None => edge_sensors::SerialParity::None,
            Parity::Odd => edge_sensors::SerialParity::Odd,
            Parity::Even => edge_sensors::SerialParity::Even,
        }
    }
}

/// The line format a scale speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleProtocolName {
    /// Mettler-Toledo SICS (`S S  123.4 g`); one channel per scale.
    Sics,
    /// `channel,grams` lines from a multi-channel load-cell board.
    ChannelGrams,
}

/// One shelf scale or load-cell board (`[[scales]]`); `id` is the planogram's `scale`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleConfig {
    /// The planogram's scale id.
    pub id: String,
    /// Serial device, ideally a stable name (`/dev/serial/by-id/...`).
    pub port: String,
    /// Baud rate.
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// Parity (`none`, `odd`, `even`).
    #[serde(default)]
    pub parity: Parity,
    /// `sics` or `channel-grams`.
    pub protocol: ScaleProtocolName,
    /// SICS only: the planogram channel this scale's weight is reported on (default 0).
    #[serde(default)]
    pub channel: Option<u16>,
    /// SICS only: poll with `SI` every this many milliseconds; unset: the scale sends on its
    /// own (continuous mode).
    #[serde(default)]
    pub poll_ms: Option<u64>,
    /// Grams to subtract per channel (tray, bin), keyed by channel number: `{ "0" = 12.5 }`.
    #[serde(default)]
    pub tare: BTreeMap<String, f64>,
}

impl ScaleConfig {
    /// The protocol with its channel.
    pub fn protocol(&self) -> edge_sensors::ScaleProtocol {
        match self.protocol {
            ScaleProtocolName::Sics => edge_sensors::ScaleProtocol::Sics {
                channel: self.channel.unwrap_or(0),
            },
            ScaleProtocolName::ChannelGrams => edge_sensors::ScaleProtocol::ChannelGrams,
        }
    }

    /// The tare per channel; entries `check` refuses are left out.
    pub fn tare(&self) -> edge_sensors::Tare {
        let mut tare = edge_sensors::Tare::new();
        for (channel, grams) in &self.tare {
            if let Ok(channel) = channel.trim().parse::<u16>() {
                // A non-finite tare is refused by `check`; `set` refuses it again.
                let _ = tare.set(channel, *grams);
            }
        }
        tare
    }
}

/// One barcode scanner on a serial line (`[[scanners]]`), one code per line.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerConfig {
    /// Scanner id, for health and metrics.
    pub id: String,
    /// Serial device.
    pub port: String,
    /// Baud rate.
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// Parity (`none`, `odd`, `even`).
    #[serde(default)]
    pub parity: Parity,
}

type Problems = Vec<(Vec<Step>, String)>;

fn at(section: &str, i: usize, key: &str) -> Vec<Step> {
    vec![
        Step::Key(section.into()),
        Step::Index(i),
        Step::Key(key.into()),
    ]
}

/// Every problem of the device sections, each at its key path.
pub(super) fn check(
    cameras: &[CameraConfig],
    scales: &[ScaleConfig],
    scanners: &[ScannerConfig],
) -> Problems {
    let mut problems = Vec::new();
    // Device ids label metrics and the health view: one namespace for all kinds.
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut id = |section: &'static str, i: usize, value: &str, problems: &mut Problems| {
        let name = format!("{section}[{i}].id");
        if let Err(why) = check_device_id(value) {
            problems.push((at(section, i, "id"), format!("{name} {why}")));
        } else if let Some(first) = seen.get(value) {
            problems.push((
                at(section, i, "id"),
                format!("{name}: duplicate device id {value:?} (already used by {first}); every camera, scale and scanner needs its own id"),
            ));
        } else {
            seen.insert(value.to_string(), format!("{section}[{i}]"));
        }
    };

    for (i, camera) in cameras.iter().enumerate() {
        id("cameras", i, &camera.id, &mut problems);
        let name = format!("cameras[{i}]");
        match camera.camera_source() {
            Err(why) => problems.push((at("cameras", i, "source"), format!("{name}.{why}"))),
            Ok(CameraSource::V4l(device)) if !cfg!(feature = "camera") => problems.push((
                at("cameras", i, "source"),
                format!(
                    "{name}.source {device:?} is a V4L2 camera, but {}; or use a network camera \
                     through \"file:PATH\" or \"folder:PATH\"",
                    edge_sensors::camera::NOT_COMPILED
                ),
            )),
            Ok(_) => {}
        }
        for (key, value) in [("width", camera.width), ("height", camera.height)] {
            if value.is_some_and(|v| !(16..=8192).contains(&v)) {
                problems.push((
                    at("cameras", i, key),
                    format!("{name}.{key} must be between 16 and 8192 pixels"),
                ));
            }
        }
        if !(camera.fps.is_finite() && (0.05..=60.0).contains(&camera.fps)) {
            problems.push((
                at("cameras", i, "fps"),
                format!("{name}.fps must be between 0.05 and 60"),
            ));
        }
        if !(1..=3600).contains(&camera.frame_timeout_secs) {
            problems.push((
                at("cameras", i, "frame_timeout_secs"),
                format!("{name}.frame_timeout_secs must be between 1 and 3600"),
            ));
        } else if camera.fps.is_finite()
            && camera.fps > 0.0
            && (camera.frame_timeout_secs as f64) < 1.0 / camera.fps
        {
            problems.push((
                at("cameras", i, "frame_timeout_secs"),
                format!(
                    "{name}.frame_timeout_secs must be at least one frame interval ({:.0} s at {} fps)",
                    (1.0 / camera.fps).ceil(),
                    camera.fps
                ),
            ));
        }
    }

    for (i, scale) in scales.iter().enumerate() {
        id("scales", i, &scale.id, &mut problems);
        let name = format!("scales[{i}]");
        check_port("scales", i, &scale.port, scale.baud, &mut problems);
        let sics = scale.protocol == ScaleProtocolName::Sics;
        if !sics && scale.channel.is_some() {
            problems.push((
                at("scales", i, "channel"),
                format!("{name}.channel applies to protocol \"sics\" only: a channel-grams board names the channel on every line"),
            ));
        }
        match scale.poll_ms {
            Some(_) if !sics => problems.push((
                at("scales", i, "poll_ms"),
                format!(
                    "{name}.poll_ms applies to protocol \"sics\" only (a load-cell board sends on its own)"
                ),
            )),
            Some(ms) if !(50..=60_000).contains(&ms) => problems.push((
                at("scales", i, "poll_ms"),
                format!("{name}.poll_ms must be between 50 and 60000"),
            )),
            _ => {}
        }
        for (channel, grams) in &scale.tare {
            let mut path = at("scales", i, "tare");
            path.push(Step::Key(channel.clone()));
            match channel.trim().parse::<u16>() {
                Err(_) => problems.push((
                    path,
                    format!("{name}.tare: {channel:?} is not a channel number (0..65535); write tare = {{ \"0\" = 12.5 }}"),
                )),
                Ok(c) if sics && c != scale.channel.unwrap_or(0) => problems.push((
                    path,
                    format!(
                        "{name}.tare: channel {c} is not this SICS scale's channel ({})",
                        scale.channel.unwrap_or(0)
                    ),
                )),
                Ok(_) if !grams.is_finite() || grams.abs() > 1_000_000.0 => problems.push((
                    path,
                    format!("{name}.tare.\"{channel}\" must be a number of grams (at most 1000000)"),
                )),
                Ok(_) => {}
            }
        }
    }

    for (i, scanner) in scanners.iter().enumerate() {
        id("scanners", i, &scanner.id, &mut problems);
        check_port("scanners", i, &scanner.port, scanner.baud, &mut problems);
    }
    problems
}

fn check_port(section: &str, i: usize, port: &str, baud: u32, problems: &mut Problems) {
    if port.is_empty() {
        problems.push((
            at(section, i, "port"),
            format!("{section}[{i}].port must be set, e.g. \"/dev/ttyUSB0\""),
        ));
    } else if !port.starts_with('/') {
        problems.push((
            at(section, i, "port"),
            format!("{section}[{i}].port must be an absolute device path, e.g. \"/dev/ttyUSB0\" or \"/dev/serial/by-id/...\""),
        ));
    }
    if !(300..=4_000_000).contains(&baud) {
        problems.push((
            at(section, i, "baud"),
            format!("{section}[{i}].baud must be between 300 and 4000000"),
        ));
    }
}

/// A device id: it labels metrics and health, so short, printable and without quotes.
fn check_device_id(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must be set (the planogram names the device by it)".into());
    }
    if value.len() > 64 {
        return Err("must be at most 64 characters".into());
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "may only hold letters, digits, '-', '_' and '.' (found {c:?})"
        ));
    }
    Ok(())
}
