//! The models in the daemon: where the manifest is, the `edge-runtime model verify|info`
//! reports, the serving set (`hub`) and signed updates from headquarters (`release`, `update`).

pub mod hub;
pub mod push;
pub mod release;
pub mod update;

use crate::config::Config;
use edge_models::{Engine, Manifest, ModelError};
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Manifest the package installs.
pub const PACKAGED_MANIFEST: &str = "/usr/share/edge-runtime/models/manifest.toml";
/// Environment variable naming a manifest (overrides the config).
pub const MODELS_ENV: &str = "EDGE_RUNTIME_MODELS";

/// The manifest to use: `--manifest`, else `$EDGE_RUNTIME_MODELS`, else `paths.models` of the
/// config, else the packaged one, else (running from a source checkout) `models/manifest.toml`
/// above the executable.
pub fn manifest_path(explicit: Option<PathBuf>, config: Option<&Config>) -> PathBuf {
    if let Some(p) = explicit {
        return p;
    }
    if let Some(p) = std::env::var_os(MODELS_ENV) {
        return PathBuf::from(p);
    }
    if let Some(p) = config.and_then(|c| c.paths.models.clone()) {
        return p;
    }
    let packaged = PathBuf::from(PACKAGED_MANIFEST);
    if packaged.is_file() {
        return packaged;
    }
    source_tree_manifest().unwrap_or(packaged)
}

/// `models/manifest.toml` in a directory above the running executable (`target/release/..`).
fn source_tree_manifest() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .map(|dir| dir.join("models").join("manifest.toml"))
        .find(|p| p.is_file())
}

/// Checks every model of the manifest (hash, load, optimise, test vector, float file hash) and
/// returns the report and whether everything passed.
pub fn verify(path: &Path) -> (String, bool) {
    let mut out = String::new();
    let manifest = match Manifest::load(path) {
        Ok(m) => m,
        Err(e) => return (format!("{e}\n"), false),
    };
    let _ = writeln!(out, "manifest {}", path.display());
    let mut ok = 0;
    for entry in &manifest.models {
        let loaded = Engine::load(&manifest, &entry.name, &[1]).and_then(|engine| {
            if let (Some(file), Some(sha)) = (&entry.float_file, &entry.float_sha256) {
                edge_models::read_verified(&manifest.path(file), sha, &entry.name)?;
            }
            Ok(engine)
        });
        match loaded {
            Ok(engine) => {
                ok += 1;
                let _ = writeln!(
                    out,
                    "  {:<13} {:<8} ok    sha256 ok, test vector max diff {:.2e} (tolerance {:.0e}), ready in {:.0} ms",
                    entry.name, entry.version, engine.vector_max_diff, entry.tolerance, engine.load_ms
                );
            }
            Err(e) => {
                let _ = writeln!(out, "  {:<13} {:<8} FAIL  {e}", entry.name, entry.version);
            }
        }
    }
    let total = manifest.models.len();
    let _ = writeln!(
        out,
        "{ok} of {total} models verified on {}",
        crate::metrics::BUILD.target
    );
    (out, total > 0 && ok == total)
}

/// Describes one model: files, tensors, preprocessing, and the optimised plan's operators.
pub fn info(path: &Path, name: &str) -> Result<String, ModelError> {
    let manifest = Manifest::load(path)?;
    let entry = manifest
        .entry(name)
        .ok_or_else(|| ModelError::NotInManifest(name.to_string()))?;
    let mut out = String::new();
    let file = manifest.path(&entry.file);
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let _ = writeln!(out, "{} {}", entry.name, entry.version);
    let _ = writeln!(
        out,
        "  file      {} ({:.1} MB)",
        file.display(),
        size as f64 / 1e6
    );
    let _ = writeln!(out, "  sha256    {}", entry.sha256);
    if let Some(f) = &entry.float_file {
        let _ = writeln!(out, "  float     {}", manifest.path(f).display());
    }
    if let Some(c) = &entry.card {
        let _ = writeln!(out, "  card      {}", manifest.path(c).display());
    }
    for (kind, tensors) in [("input ", &entry.inputs), ("output", &entry.outputs)] {
        for t in tensors {
            let _ = writeln!(
                out,
                "  {kind}    {} {:?} {}",
                t.name,
                t.dtype,
                t.shape_text()
            );
        }
    }
    for (k, v) in &entry.preprocess {
        let mut value = v.to_string();
        if value.len() > 100 {
            value.truncate(97);
            value.push_str("...");
        }
        let _ = writeln!(out, "  preprocess {k} = {value}");
    }
    let engine = Engine::load(&manifest, name, &[1])?;
    let _ = writeln!(
        out,
        "  verified  sha256 ok, test vector max diff {:.2e} (tolerance {:.0e}), ready in {:.0} ms",
        engine.vector_max_diff, entry.tolerance, engine.load_ms
    );
    let ops = engine.op_counts(1)?;
    let list: Vec<String> = ops.iter().map(|(op, n)| format!("{op} x{n}")).collect();
    let _ = writeln!(
        out,
        "  plan      {} nodes: {}",
        ops.values().sum::<usize>(),
        list.join(", ")
    );
    Ok(out)
}

/// What the daemon's models are doing, for the health message and `cmd/model` status:
/// `{"slotnet": {"version": "3.0.0", "state": "ready", "source": "packaged"}, "forecaster":
/// {"version": "2.0.0", "state": "probation", "source": "headquarters"}, "text_encoder":
/// {"state": "failed", "error": "...", "rolled_back": "1.1.0: ..."}}`.
#[derive(Default, Clone)]
pub struct ModelStatus(Arc<Mutex<Map<String, Value>>>);

impl ModelStatus {
    /// The current status as JSON.
    pub fn json(&self) -> Value {
        Value::Object(self.0.lock().map(|m| m.clone()).unwrap_or_default())
    }

    fn set(&self, map: Map<String, Value>) {
        if let Ok(mut m) = self.0.lock() {
            *m = map;
        }
    }
}
