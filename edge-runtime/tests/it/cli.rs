//! The command line as an installer uses it: versions, config checks, exit codes.

use crate::common;

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

fn models_manifest() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../models/manifest.toml").to_string()
}

#[test]
fn model_verify_checks_every_shipped_model_on_this_machine() {
    let o = run(&["model", "verify", "--manifest", &models_manifest()]);
    let t = text(&o);
    println!("{t}");
    assert!(o.status.success(), "{t}");
    for name in ["slotnet", "forecaster", "recommender", "text_encoder"] {
        assert!(t.contains(&format!("  {name}")), "{t}");
    }
    assert!(t.contains("4 of 4 models verified"), "{t}");
    assert!(!t.contains("FAIL"), "{t}");
}

#[test]
fn model_verify_fails_on_a_damaged_model_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    for rel in [
        "manifest.toml",
        "onnx/recommender.int8.onnx",
        "vectors/recommender.json",
        "vectors/recommender.skus.txt",
    ] {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(rel), to).unwrap();
    }
    // keep only the recommender, then damage it
    let manifest = std::fs::read_to_string(dir.path().join("manifest.toml")).unwrap();
    let keep: Vec<&str> = manifest
        .split("[[model]]")
        .filter(|b| b.contains("name = \"recommender\"") || b.contains("schema = 1"))
        .collect();
    std::fs::write(dir.path().join("manifest.toml"), keep.join("[[model]]")).unwrap();
    let file = dir.path().join("onnx/recommender.int8.onnx");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() - 100);
    std::fs::write(&file, bytes).unwrap();
    let path = dir.path().join("manifest.toml");
    let o = run(&["model", "verify", "--manifest", path.to_str().unwrap()]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("recommender") && t.contains("FAIL") && t.contains("sha256"),
        "{t}"
    );
    assert!(t.contains("0 of 1 models verified"), "{t}");

    let o = run(&[
        "model",
        "verify",
        "--manifest",
        "/nonexistent/manifest.toml",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("/nonexistent/manifest.toml"),
        "{}",
        text(&o)
    );
}

#[test]
fn model_info_describes_the_plan() {
    let o = run(&[
        "model",
        "info",
        "forecaster",
        "--manifest",
        &models_manifest(),
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("forecaster 2.0.0") && t.contains("input     history") && t.contains("plan "),
        "{t}"
    );
    let o = run(&["model", "info", "nope", "--manifest", &models_manifest()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("\"nope\" is not in the manifest"),
        "{}",
        text(&o)
    );
}

#[test]
fn camera_snapshot_from_a_folder_camera_and_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cam = dir.path().join("cam");
    std::fs::create_dir(&cam).unwrap();
    let img = image::RgbImage::from_fn(320, 200, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    img.save(cam.join("0001.png")).unwrap();
    let out = dir.path().join("shelf.jpg");
    let o = run(&[
        "camera",
        "snapshot",
        "--camera",
        cam.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--timeout",
        "20",
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("320x200"), "{t}");
    let saved = image::open(&out).unwrap();
    assert_eq!((saved.width(), saved.height()), (320, 200));

    // a corrupt snapshot file: refused with the reason, exit 1, nothing written
    let bad = dir.path().join("bad.jpg");
    std::fs::write(&bad, b"\xff\xd8\xff\xe0 not really a jpeg").unwrap();
    let out2 = dir.path().join("nothing.jpg");
    let o = run(&[
        "camera",
        "snapshot",
        "--camera",
        bad.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
        "--timeout",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("camera"), "{}", text(&o));
    assert!(!out2.exists());

    let o = run(&["camera", "list"]);
    assert!(o.status.success(), "{}", text(&o));
}

fn demo_catalog() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/data/demo-catalog.json"
    )
    .to_string()
}

#[test]
fn printed_demo_planogram_passes_planogram_check() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["planogram", "demo"]);
    assert!(o.status.success(), "{}", text(&o));
    let path = dir.path().join("planogram.toml");
    std::fs::write(&path, &o.stdout).unwrap();
    let file = path.to_str().unwrap();

    let o = run(&["planogram", "check", file, "--catalog", &demo_catalog()]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("planogram OK: 1 cameras, 24 slots, 24 on scales"),
        "{t}"
    );
    assert!(!t.contains("not checked"), "{t}");

    // Without a catalog the check still runs, and says what it could not check.
    let o = run(&["planogram", "check", file]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("planogram OK") && t.contains("not checked"),
        "{t}"
    );
}

#[test]
fn planogram_check_reports_every_planted_problem_with_its_line_and_exits_2() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/bad-planogram.toml"
    );
    let o = run(&["planogram", "check", path, "--catalog", &demo_catalog()]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    let fixture = std::fs::read_to_string(path).unwrap();
    let planted: Vec<(usize, &str)> = fixture
        .lines()
        .enumerate()
        .filter_map(|(i, line)| Some((i + 1, line.split_once("# <- ")?.1)))
        .collect();
    for (line, words) in &planted {
        let found = t
            .lines()
            .any(|l| l.starts_with(&format!("error: {path}:{line}:")) && l.contains(words));
        assert!(found, "missing {words:?} on line {line} in\n{t}");
    }
    assert!(
        t.contains(&format!("{} problems found", planted.len())),
        "{t}"
    );
}

#[test]
fn planogram_check_takes_both_files_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let planogram = dir.path().join("planogram.toml");
    std::fs::write(&planogram, run(&["planogram", "demo"]).stdout).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[identity]\nstore_id = \"s\"\ndevice_id = \"d\"\n[paths]\nstate_dir = \"{}\"\n\
             planogram = \"{}\"\ncatalog = \"{}\"\n",
            dir.path().display(),
            planogram.display(),
            demo_catalog()
        ),
    )
    .unwrap();
    let o = run(&["planogram", "check", "-c", config.to_str().unwrap()]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("24 slots") && !t.contains("not checked"), "{t}");

    // A SKU the catalog does not know is found through the config's catalog too.
    let text_with_unknown = std::fs::read_to_string(&planogram)
        .unwrap()
        .replacen("SKU04291", "SKU00000", 1);
    std::fs::write(&planogram, text_with_unknown).unwrap();
    let o = run(&["planogram", "check", "-c", config.to_str().unwrap()]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("\"SKU00000\" is not in the catalog"), "{t}");
}

#[test]
fn unreadable_planogram_or_catalog_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let o = run(&["planogram", "check", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("cannot read planogram file"),
        "{}",
        text(&o)
    );

    let planogram = dir.path().join("planogram.toml");
    std::fs::write(&planogram, run(&["planogram", "demo"]).stdout).unwrap();
    let o = run(&[
        "planogram",
        "check",
        planogram.to_str().unwrap(),
        "--catalog",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("cannot use catalog"), "{}", text(&o));
}

#[test]
fn eval_stock_runs_another_planogram_and_refuses_bad_ones() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/");
    let aisle = format!("{fixture}aisle-planogram.toml");
    let catalog = demo_catalog();
    let base = [
        "eval",
        "stock",
        "--planogram",
        &aisle,
        "--catalog",
        &catalog,
    ];
    let o = run(&[
        &base[..],
        &[
            "--camera",
            "aisle-cam",
            "--scenario",
            "quiet",
            "--hours",
            "0.1",
            "--frame-secs",
            "10",
        ],
    ]
    .concat());
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("camera aisle-cam of") && t.contains("6 slots, 3 on scales"),
        "{t}"
    );
    // The perspective crops read sensibly: the weight tracker is close to the truth.
    let mae: f64 = t
        .lines()
        .find(|l| l.trim_start().starts_with("with weight"))
        .and_then(|l| l.split("units MAE ").nth(1))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no MAE in {t}"));
    assert!(mae < 0.5, "{t}");

    let o = run(&[&base[..], &["--camera", "nope"]].concat());
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("no camera \"nope\"") && t.contains("end-cap, aisle-cam"),
        "{t}"
    );

    let bad = format!("{fixture}bad-planogram.toml");
    let o = run(&["eval", "stock", "--planogram", &bad, "--catalog", &catalog]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
