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
