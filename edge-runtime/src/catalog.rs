//! The product catalog headquarters sends: SKU, names, price, location, tags, attributes.
//!
//! A catalog update is validated completely before anything is written, then replaces the
//! stored catalog atomically (write to a temporary file, fsync, rename), so a bad or
//! interrupted update leaves the previous catalog in place.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// Stock keeping unit, unique in the catalog.
    pub sku: String,
    /// Name shoppers see.
    pub name: String,
    /// Shelf price in `currency`.
    pub price: f64,
    /// ISO 4217 code, e.g. "EUR".
    pub currency: String,
    /// Aisle label, e.g. "3".
    #[serde(default)]
    pub aisle: String,
    /// Shelf label inside the aisle, e.g. "B2".
    #[serde(default)]
    pub shelf: String,
    /// Search tags ("vegan", "gluten-free").
    #[serde(default)]
    pub tags: Vec<String>,
    /// Free-form attributes (brand, size, allergens).
    #[serde(default)]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Description for the kiosk assistant.
    #[serde(default)]
    pub description: String,
}

/// The whole catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Headquarters' version label of this catalog.
    pub version: String,
    /// Every product of the store.
    pub products: Vec<Product>,
}

/// Why a catalog was refused or could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The document is not a catalog.
    #[error("invalid catalog: {0}")]
    Invalid(String),
    /// Writing it failed; the previous catalog is untouched.
    #[error("cannot store the catalog: {0}")]
    Io(#[from] std::io::Error),
}

/// The demo store's catalog (240 products, `models/data/demo-catalog.json`), built in.
pub const DEMO_JSON: &str = include_str!("../../models/data/demo-catalog.json");

impl Catalog {
    /// The built-in demo catalog.
    pub fn demo() -> Result<Catalog, String> {
        let value: serde_json::Value =
            serde_json::from_str(DEMO_JSON).map_err(|e| format!("demo catalog: {e}"))?;
        Catalog::from_json(value).map_err(|e| format!("demo catalog: {e}"))
    }

    /// Parses and validates a catalog from JSON, listing every problem found.
    pub fn from_json(value: serde_json::Value) -> Result<Catalog, CatalogError> {
        let catalog: Catalog =
            serde_json::from_value(value).map_err(|e| CatalogError::Invalid(e.to_string()))?;
        let problems = catalog.problems();
        if problems.is_empty() {
            Ok(catalog)
        } else {
            Err(CatalogError::Invalid(problems.join("; ")))
        }
    }

    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen = HashSet::new();
        if self.version.trim().is_empty() {
            problems.push("version must not be empty".to_string());
        }
        for (i, p) in self.products.iter().enumerate() {
            let at = format!("products[{i}]");
            if p.sku.trim().is_empty() {
                problems.push(format!("{at}: sku must not be empty"));
            } else if !seen.insert(p.sku.as_str()) {
                problems.push(format!("{at}: duplicate sku {:?}", p.sku));
            }
            if p.name.trim().is_empty() {
                problems.push(format!("{at}: name must not be empty"));
            }
            if !p.price.is_finite() || p.price < 0.0 {
                problems.push(format!("{at}: price must be a non-negative number"));
            }
            if p.currency.len() != 3 || !p.currency.chars().all(|c| c.is_ascii_uppercase()) {
                problems.push(format!(
                    "{at}: currency must be an ISO 4217 code like \"EUR\""
                ));
            }
            if problems.len() >= 20 {
                problems.push("(more problems not listed)".into());
                break;
            }
        }
        problems
    }
}

/// Where headquarters' catalog is kept: the state directory (configuration is read-only).
pub fn stored_path(state_dir: &Path) -> PathBuf {
    state_dir.join("catalog.json")
}

/// Replaces the file at `path` with `bytes` atomically and durably.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    // The rename itself is durable only once the directory is synced.
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Validates and stores a catalog update; the previous catalog stays on any error.
pub fn apply(state_dir: &Path, value: serde_json::Value) -> Result<Catalog, CatalogError> {
    let catalog = Catalog::from_json(value)?;
    let bytes =
        serde_json::to_vec_pretty(&catalog).map_err(|e| CatalogError::Invalid(e.to_string()))?;
    write_atomically(&stored_path(state_dir), &bytes)?;
    Ok(catalog)
}

/// A catalog file (JSON, the runtime's format), parsed and validated.
pub fn load_file(path: &Path) -> Result<Catalog, String> {
    std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
        .and_then(|value| Catalog::from_json(value).map_err(|e| e.to_string()))
}

/// The stored catalog, if any.
pub fn load(state_dir: &Path) -> Result<Option<Catalog>, CatalogError> {
    match std::fs::read(stored_path(state_dir)) {
        Ok(bytes) => {
            let value =
                serde_json::from_slice(&bytes).map_err(|e| CatalogError::Invalid(e.to_string()))?;
            Catalog::from_json(value).map(Some)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn product(sku: &str) -> serde_json::Value {
        json!({"sku": sku, "name": "Oat milk 1 l", "price": 1.99, "currency": "EUR",
               "aisle": "3", "shelf": "B2", "tags": ["vegan"], "attributes": {"brand": "Oaty"}})
    }

    #[test]
    fn a_valid_catalog_is_stored_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let c = apply(
            dir.path(),
            json!({"version": "2026-11-23", "products": [product("A1"), product("B2")]}),
        )
        .unwrap();
        assert_eq!(c.products.len(), 2);
        assert_eq!(load(dir.path()).unwrap(), Some(c));
    }

    #[test]
    fn a_bad_catalog_changes_nothing_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        apply(
            dir.path(),
            json!({"version": "v1", "products": [product("A1")]}),
        )
        .unwrap();
        let mut bad = product("A1");
        bad["price"] = json!(-1);
        bad["currency"] = json!("euro");
        let err = apply(
            dir.path(),
            json!({"version": "v2", "products": [product("A1"), bad]}),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("duplicate sku") && text.contains("price") && text.contains("currency"),
            "{text}"
        );
        let unknown = apply(
            dir.path(),
            json!({"version": "v3", "products": [], "colour": 1}),
        )
        .unwrap_err();
        assert!(
            unknown.to_string().contains("unknown field `colour`"),
            "{unknown}"
        );
        assert_eq!(load(dir.path()).unwrap().unwrap().version, "v1");
    }
}
