//! Planogram updates from headquarters (`cmd/planogram`): the new planogram is validated in
//! full against the stored catalog, then written to `<state_dir>/planogram.toml` atomically. A
//! bad update changes nothing. The stored planogram takes precedence over `paths.planogram`
//! (the one the installer put in `/etc`, which the daemon cannot write).

use super::planogram::Planogram;
use crate::catalog::{self, Catalog};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where headquarters' planogram is kept.
pub fn stored_path(state_dir: &Path) -> PathBuf {
    state_dir.join("planogram.toml")
}

/// The planogram file in force: headquarters' stored one, else the config's `paths.planogram`.
pub fn effective_path(state_dir: &Path, configured: Option<&Path>) -> Option<PathBuf> {
    let stored = stored_path(state_dir);
    if stored.is_file() {
        Some(stored)
    } else {
        configured.map(Path::to_path_buf)
    }
}

/// The body of a `cmd.planogram@1` command.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    /// The planogram file's text (TOML, as `edge-runtime planogram check` reads it).
    toml: String,
}

/// Validates and stores a planogram update; returns it. Every problem is in the error, one per
/// line, with line and column in the sent text.
pub fn apply(state_dir: &Path, body: serde_json::Value) -> Result<Planogram, String> {
    let body: Body = serde_json::from_value(body)
        .map_err(|e| format!("the body must be {{\"toml\": \"<planogram file text>\"}}: {e}"))?;
    let catalog: Option<Catalog> = catalog::load(state_dir)
        .map_err(|e| format!("the stored catalog cannot be read to check the SKUs: {e}"))?;
    let planogram = Planogram::from_toml(&body.toml, "cmd/planogram", catalog.as_ref())
        .map_err(|e| e.problems().join("\n"))?;
    catalog::write_atomically(&stored_path(state_dir), body.toml.as_bytes())
        .map_err(|e| format!("cannot store the planogram: {e}"))?;
    Ok(planogram)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_good_planogram_is_stored_and_a_bad_one_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(effective_path(dir.path(), None), None);
        let good = super::super::planogram::DEMO_TOML;
        let p = apply(dir.path(), json!({ "toml": good })).unwrap();
        assert_eq!(p.cameras.len(), 1);
        let stored = stored_path(dir.path());
        assert_eq!(std::fs::read_to_string(&stored).unwrap(), good);
        assert_eq!(
            effective_path(dir.path(), Some(Path::new("/etc/x.toml"))),
            Some(stored.clone())
        );

        // Capacity 0 and a slot outside the frame: rejected with positions, file unchanged.
        let bad = good.replacen("capacity = ", "capacity = 0 # ", 1).replacen(
            "width = 1280",
            "width = 200",
            1,
        );
        let err = apply(dir.path(), json!({ "toml": bad })).unwrap_err();
        assert!(err.contains("cmd/planogram:"), "{err}");
        assert!(err.contains("capacity"), "{err}");
        assert!(err.contains("outside"), "{err}");
        assert_eq!(std::fs::read_to_string(&stored).unwrap(), good);

        for body in [
            json!({}),
            json!({"toml": 5}),
            json!({"toml": "", "extra": 1}),
            json!("x"),
        ] {
            assert!(apply(dir.path(), body.clone()).is_err(), "{body}");
        }
        assert!(apply(dir.path(), json!({"toml": "not = [toml"})).is_err());
        assert_eq!(std::fs::read_to_string(&stored).unwrap(), good);
    }

    #[test]
    fn unknown_skus_are_refused_when_a_catalog_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let catalog: serde_json::Value = serde_json::from_str(crate::catalog::DEMO_JSON).unwrap();
        crate::catalog::apply(dir.path(), catalog).unwrap();
        let text = super::super::planogram::DEMO_TOML.replacen("sku = \"", "sku = \"NOPE", 1);
        let err = apply(dir.path(), json!({ "toml": text })).unwrap_err();
        assert!(err.contains("NOPE"), "{err}");
        assert!(!stored_path(dir.path()).exists());
    }
}
