use super::*;

fn problems(text: &str) -> Vec<Problem> {
    match Config::from_toml(text, "cfg.toml") {
        Ok(c) => panic!("expected problems, got {c:?}"),
        Err(ConfigError::Invalid(p)) => p,
        Err(e) => panic!("unexpected {e}"),
    }
}

#[test]
fn default_file_is_valid_and_matches_the_built_in_defaults() {
    let parsed = Config::from_toml(DEFAULT_TOML, "default.toml").expect("default config valid");
    let expected = Config {
        identity: parsed.identity.clone(),
        ..Config::default()
    };
    assert_eq!(parsed, expected, "default.toml and Default disagree");
}

#[test]
fn demo_config_is_valid() {
    let c = Config::demo(Path::new("/tmp/x"));
    assert!(c.check().is_empty(), "{:?}", c.check());
}

#[test]
fn unknown_key_is_reported_with_line_and_column() {
    let p = problems("[identity]\nstore_id = \"s\"\ndevice_id = \"d\"\nstor_id = \"x\"\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].position, Some((4, 1)));
    assert!(
        p[0].message.contains("unknown field `stor_id`"),
        "{}",
        p[0].message
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = "\
[identity]
store_id = \"s 1\"
device_id = 7
colour = \"red\"

[http]
bind = \"not an address\"

[store]
backend = \"leveldb\"
cache_mb = 0

[bogus]
x = 1
";
    let p = problems(text);
    let lines: Vec<usize> = p
        .iter()
        .filter_map(|p| p.position.map(|(l, _)| l))
        .collect();
    for line in [2, 3, 4, 7, 10, 13] {
        assert!(lines.contains(&line), "no problem on line {line}: {p:#?}");
    }
    assert!(p.iter().all(|p| p.position.is_some()), "{p:#?}");
}

#[test]
fn semantic_problems_point_at_the_value() {
    let p = problems("[identity]\nstore_id = \"a/b\"\ndevice_id = \"\"\n[lifecycle]\nshutdown_timeout_secs = 0\n");
    assert_eq!(p.len(), 3, "{p:#?}");
    assert_eq!(p[0].position, Some((2, 12)));
    assert!(p[0].message.contains("found '/'"));
    assert_eq!(p[1].position, Some((3, 13)));
    assert_eq!(p[2].position, Some((5, 25)));
}

#[test]
fn missing_identity_is_a_problem() {
    let p = problems("");
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(p[0].message.contains("store_id must be set"));
}

#[test]
fn syntax_errors_have_positions() {
    let p = problems("[identity\nstore_id = \"x\"\n");
    assert!(!p.is_empty());
    assert_eq!(p[0].position.map(|(l, _)| l), Some(1), "{p:#?}");
    assert!(p[0].message.starts_with("TOML syntax"));
}

#[test]
fn non_utf8_file_is_refused_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, b"[identity]\nstore_id = \"caf\xe9\"\n").unwrap();
    match Config::load(&path) {
        Err(ConfigError::Invalid(p)) => {
            assert_eq!(p[0].position, Some((2, 16)));
            assert!(p[0].message.contains("UTF-8"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_file_names_the_fix() {
    let err = Config::load(Path::new("/nonexistent/edge.toml")).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("/nonexistent/edge.toml") && text.contains("print-config --default"),
        "{text}"
    );
}

#[test]
fn tls_files_must_exist_and_come_in_pairs() {
    let p = problems("[identity]\nstore_id = \"s\"\ndevice_id = \"d\"\n[mqtt]\nhost = \"hq\"\nclient_cert = \"/nonexistent/c.pem\"\n");
    let all: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
    assert!(all.iter().any(|m| m.contains("does not exist")), "{all:?}");
    assert!(all.iter().any(|m| m.contains("given together")), "{all:?}");
    assert!(all.iter().any(|m| m.contains("ca_file")), "{all:?}");
}

const IDENTITY: &str = "[identity]\nstore_id = \"s\"\ndevice_id = \"d\"\n";

fn messages(p: &[Problem]) -> Vec<&str> {
    p.iter().map(|p| p.message.as_str()).collect()
}

#[test]
fn devices_parse_with_their_defaults() {
    let text = format!(
        "{IDENTITY}
[[cameras]]
id = \"cam-1\"
source = \"folder:/srv/cam1\"

[[cameras]]
id = \"cam-2\"
source = \"file:/run/cam2.jpg\"
width = 640
height = 360
fps = 0.5
frame_timeout_secs = 30

[[scales]]
id = \"board-1\"
port = \"/dev/ttyUSB0\"
protocol = \"channel-grams\"
tare = {{ \"0\" = 12.5, \"3\" = 7 }}

[[scales]]
id = \"sics-1\"
port = \"/dev/ttyUSB1\"
baud = 2400
parity = \"even\"
protocol = \"sics\"
channel = 2
poll_ms = 500

[[scanners]]
id = \"checkout\"
port = \"/dev/ttyACM0\"
"
    );
    let c = Config::from_toml(&text, "cfg.toml").expect("valid");
    assert_eq!(c.cameras.len(), 2);
    assert_eq!(
        c.cameras[0].camera_source(),
        Ok(CameraSource::Folder("/srv/cam1".into()))
    );
    assert_eq!(
        (c.cameras[0].fps, c.cameras[0].frame_timeout_secs),
        (5.0, 20)
    );
    assert_eq!((c.cameras[0].width, c.cameras[0].height), (None, None));
    assert_eq!(
        c.cameras[1].camera_source(),
        Ok(CameraSource::File("/run/cam2.jpg".into()))
    );
    assert_eq!((c.cameras[1].width, c.cameras[1].fps), (Some(640), 0.5));
    let board = &c.scales[0];
    assert_eq!((board.baud, board.parity), (9600, Parity::None));
    assert_eq!(board.protocol(), edge_sensors::ScaleProtocol::ChannelGrams);
    assert_eq!(board.tare().get(0), 12.5);
    assert_eq!(board.tare().get(3), 7.0);
    assert_eq!(board.tare().get(1), 0.0);
    let sics = &c.scales[1];
    assert_eq!(
        sics.protocol(),
        edge_sensors::ScaleProtocol::Sics { channel: 2 }
    );
    assert_eq!(
        (sics.baud, sics.parity, sics.poll_ms),
        (2400, Parity::Even, Some(500))
    );
    assert_eq!(c.scanners[0].baud, 9600);
}

#[test]
fn the_commented_device_examples_of_the_default_file_are_valid() {
    // Uncomment the device sections; a V4L2 camera needs the `camera` feature.
    let devices = DEFAULT_TOML
        .split_once("# [[cameras]]")
        .map(|(_, rest)| format!("# [[cameras]]{rest}"))
        .unwrap();
    let uncommented: String = devices
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let uncommented = if cfg!(feature = "camera") {
        uncommented
    } else {
        uncommented.replace("\"/dev/video0\"", "\"folder:/srv/cam1\"")
    };
    let c = Config::from_toml(&format!("{IDENTITY}{uncommented}"), "default.toml")
        .unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
    assert_eq!(
        (c.cameras.len(), c.scales.len(), c.scanners.len()),
        (1, 1, 1)
    );
}

#[test]
fn an_unknown_scale_protocol_is_reported_at_its_value() {
    let p = problems(&format!(
        "{IDENTITY}[[scales]]\nid = \"s1\"\nport = \"/dev/ttyUSB0\"\nprotocol = \"modbus\"\n"
    ));
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].position, Some((7, 12)), "{p:#?}");
    assert!(
        p[0].message.contains("modbus") && p[0].message.contains("channel-grams"),
        "{}",
        p[0].message
    );
}

#[test]
fn tare_takes_grams_keyed_by_channel_number() {
    // A string where grams belong: serde's error, at the value.
    let p = problems(&format!(
        "{IDENTITY}[[scales]]\nid = \"s1\"\nport = \"/dev/ttyUSB0\"\nprotocol = \"channel-grams\"\ntare = {{ \"0\" = \"heavy\" }}\n"
    ));
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].position.map(|(l, _)| l), Some(8), "{p:#?}");
    assert!(p[0].message.contains("invalid type"), "{}", p[0].message);

    // A key that is no channel, and a SICS tare on another channel than the scale's.
    let p = problems(&format!(
        "{IDENTITY}[[scales]]\nid = \"s1\"\nport = \"/dev/ttyUSB0\"\nprotocol = \"channel-grams\"\ntare = {{ \"left\" = 3.0, \"1\" = 2 }}\n\
         [[scales]]\nid = \"s2\"\nport = \"/dev/ttyUSB1\"\nprotocol = \"sics\"\ntare = {{ \"4\" = 1.0 }}\n"
    ));
    assert_eq!(p.len(), 2, "{p:#?}");
    assert_eq!(p[0].position, Some((8, 19)), "{p:#?}");
    assert!(
        p[0].message.contains("\"left\" is not a channel number"),
        "{}",
        p[0].message
    );
    assert_eq!(p[1].position.map(|(l, _)| l), Some(13), "{p:#?}");
    assert!(
        p[1].message.contains("not this SICS scale's channel"),
        "{}",
        p[1].message
    );
}

#[test]
fn device_ids_are_unique_across_kinds() {
    let p = problems(&format!(
        "{IDENTITY}[[cameras]]\nid = \"dev-1\"\nsource = \"folder:/srv/a\"\n\
         [[cameras]]\nid = \"dev-1\"\nsource = \"folder:/srv/b\"\n\
         [[scanners]]\nid = \"dev-1\"\nport = \"/dev/ttyACM0\"\n\
         [[scales]]\nid = \"\"\nport = \"/dev/ttyUSB0\"\nprotocol = \"sics\"\n"
    ));
    let all = messages(&p);
    assert_eq!(p.len(), 3, "{p:#?}");
    assert_eq!(p[0].position, Some((8, 6)), "{p:#?}");
    assert!(all[0].contains("duplicate device id \"dev-1\""), "{all:?}");
    assert!(all[0].contains("cameras[0]"), "{all:?}");
    assert_eq!(p[1].position.map(|(l, _)| l), Some(11), "{p:#?}");
    assert!(all[2].contains("scales[0].id must be set"), "{all:?}");
}

#[test]
fn camera_sources_are_checked() {
    let p = problems(&format!(
        "{IDENTITY}[[cameras]]\nid = \"a\"\nsource = \"rtsp://cam/1\"\n\
         [[cameras]]\nid = \"b\"\nsource = \"folder:pictures\"\nfps = 0\n\
         [[cameras]]\nid = \"c\"\nsource = \"file:/x.jpg\"\nwidth = 4\nfps = 0.1\nframe_timeout_secs = 5\n"
    ));
    let all = messages(&p);
    assert_eq!(p.len(), 5, "{all:#?}");
    assert!(all[0].contains("is not a camera"), "{all:?}");
    assert!(all[1].contains("must be absolute"), "{all:?}");
    assert!(all[2].contains("fps must be between"), "{all:?}");
    assert!(all[3].contains("width must be between"), "{all:?}");
    assert!(all[4].contains("at least one frame interval"), "{all:?}");
}

#[cfg(not(feature = "camera"))]
#[test]
fn a_v4l_camera_without_the_camera_feature_says_how_to_get_it() {
    let p = problems(&format!(
        "{IDENTITY}[[cameras]]\nid = \"a\"\nsource = \"/dev/video0\"\n"
    ));
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].position, Some((6, 10)), "{p:#?}");
    assert!(
        p[0].message.contains("--features camera") && p[0].message.contains("folder:PATH"),
        "{}",
        p[0].message
    );
}

#[cfg(feature = "camera")]
#[test]
fn a_v4l_camera_is_accepted_with_the_camera_feature() {
    let c = Config::from_toml(
        &format!("{IDENTITY}[[cameras]]\nid = \"a\"\nsource = \"/dev/video0\"\n"),
        "cfg.toml",
    )
    .unwrap();
    assert_eq!(
        c.cameras[0].camera_source(),
        Ok(CameraSource::V4l("/dev/video0".into()))
    );
}

#[test]
fn serial_settings_are_checked() {
    let p = problems(&format!(
        "{IDENTITY}[[scales]]\nid = \"s1\"\nport = \"ttyUSB0\"\nbaud = 7\nprotocol = \"channel-grams\"\npoll_ms = 100\nchannel = 1\n\
         [[scales]]\nid = \"s2\"\nport = \"/dev/ttyUSB1\"\nprotocol = \"sics\"\npoll_ms = 10\nparity = \"mark\"\n\
         [[scanners]]\nid = \"x\"\nport = \"\"\n"
    ));
    let all = messages(&p);
    for needle in [
        "port must be an absolute device path",
        "baud must be between",
        "poll_ms applies to protocol \"sics\" only",
        "channel applies to protocol \"sics\" only",
        "unknown variant `mark`",
        "scanners[0].port must be set",
    ] {
        assert!(all.iter().any(|m| m.contains(needle)), "{needle}: {all:#?}");
    }
    assert!(p.iter().all(|p| p.position.is_some()), "{p:#?}");
}
