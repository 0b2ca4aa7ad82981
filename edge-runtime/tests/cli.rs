//! The command line as an installer uses it: versions, config checks, exit codes.

mod common;

use common::{command, write_config};
use std::process::Output;

fn run(args: &[&str]) -> Output {
    command().args(args).output().expect("run edge-runtime")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn version_names_revision_and_target() {
    let o = run(&["version"]);
    assert!(o.status.success());
    let t = text(&o);
    assert!(
        t.contains(&format!("edge-runtime {}", env!("CARGO_PKG_VERSION"))),
        "{t}"
    );
    assert!(t.contains("revision ") && t.contains("target "), "{t}");
    assert!(
        t.contains(std::env::consts::ARCH),
        "target triple should name the arch: {t}"
    );
}

#[test]
fn printed_default_config_passes_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["print-config", "--default"]);
    assert!(o.status.success());
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &o.stdout).unwrap();
    let check = run(&["check-config", path.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
}

#[test]
fn check_config_reports_every_problem_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[identity]\nstore_id = 5\ndevice_id = \"d\"\nextra = 1\n[http]\nbind = \"x\"\n",
    )
    .unwrap();
    let o = run(&["check-config", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    let p = path.display().to_string();
    for at in [":2:12:", ":4:1:", ":6:8:"] {
        assert!(t.contains(&format!("{p}{at}")), "missing {at} in {t}");
    }
    assert!(t.contains("3 problems found"), "{t}");
}

#[test]
fn fixture_with_every_kind_of_problem_is_fully_reported() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/many-problems.toml"
    );
    let o = run(&["check-config", path]);
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    // line:column of each planted problem
    for at in [
        ":3:12:", ":4:13:", ":5:1:", ":8:8:", ":11:11:", ":12:12:", ":16:19:", ":17:14:", ":19:2:",
    ] {
        assert!(t.contains(at), "missing {at} in\n{t}");
    }
    assert!(
        t.contains("given together") && t.contains("does not exist"),
        "{t}"
    );
}

#[test]
fn run_refuses_a_bad_config_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[identity]\nstore_id = \"s\"\ndevice_id = \"d\"\n[store]\nbackend = \"mysql\"\n",
    )
    .unwrap();
    let o = run(&["run", "--config", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("refusing to start"), "{}", text(&o));
}

#[test]
fn missing_and_non_utf8_configs_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let o = run(&["check-config", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("print-config --default"), "{}", text(&o));

    let latin1 = dir.path().join("latin1.toml");
    std::fs::write(&latin1, b"[identity]\nstore_id = \"K\xf6ln\"\n").unwrap();
    let o = run(&["check-config", latin1.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains(":2:14: the file is not valid UTF-8"),
        "{}",
        text(&o)
    );

    let unreadable = dir.path().join("a-directory.toml");
    std::fs::create_dir(&unreadable).unwrap();
    let o = run(&["check-config", unreadable.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("cannot read config file"), "{}", text(&o));
}

#[test]
fn environment_variable_names_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &dir.path().join("state"),
        "127.0.0.1:1".parse().unwrap(),
        "",
    );
    let o = command()
        .arg("check-config")
        .env("EDGE_RUNTIME_CONFIG", &path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains(path.to_str().unwrap()));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(run(&["print-config"]).status.code(), Some(2));
    assert_eq!(run(&["--help"]).status.code(), Some(0));
}
