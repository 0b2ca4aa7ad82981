//! A model release: the document headquarters signs and a device checks before it stages a
//! single byte of a new model.
//!
//! `release.toml` names one model, its version, every file with its SHA-256 and size, and the
//! model's own manifest (the `[[model]]` block the device loads it with). Headquarters signs the
//! exact bytes of that text with ed25519; the device holds the public keys it trusts
//! (`[model_updates] keys`). A file whose hash matches the signed release is therefore what
//! headquarters published, and the manifest inside names the test vector the device runs
//! before the model serves.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use edge_models::{Manifest, ModelEntry};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// The release format this build reads and writes.
pub const SCHEMA: u32 = 1;
/// Most files one release may carry.
const MAX_FILES: usize = 16;

/// One model release (`release.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// Format version ([`SCHEMA`]).
    pub schema: u32,
    /// Model name (`slotnet`, `forecaster`, `recommender`, `text_encoder`).
    pub name: String,
    /// Model version; must equal the version in `manifest`.
    pub version: String,
    /// Every file the model needs, relative to the release directory.
    pub files: Vec<ReleaseFile>,
    /// A complete manifest (schema 1) listing exactly this model, paths relative to the
    /// release directory.
    pub manifest: String,
}

/// One file of a release.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseFile {
    /// Relative path (`onnx/slotnet.int8.onnx`).
    pub path: String,
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

impl Release {
    /// Parses and checks a release text: format, names, safe paths, and a manifest that
    /// describes this model with files the release carries.
    pub fn parse(text: &str) -> Result<Release, String> {
        let release: Release =
            toml::from_str(text).map_err(|e| format!("release.toml: {}", e.message()))?;
        release.check()?;
        Ok(release)
    }

    fn check(&self) -> Result<(), String> {
        if self.schema != SCHEMA {
            return Err(format!(
                "release schema {} is not supported (this build reads schema {SCHEMA})",
                self.schema
            ));
        }
        if !edge_models::set::KNOWN.contains(&self.name.as_str()) {
            return Err(format!(
                "model {:?} is not one this build serves ({:?})",
                self.name,
                edge_models::set::KNOWN
            ));
        }
        check_version(&self.version)?;
        if self.files.is_empty() || self.files.len() > MAX_FILES {
            return Err(format!(
                "a release carries 1 to {MAX_FILES} files, this one {}",
                self.files.len()
            ));
        }
        let mut seen = BTreeSet::new();
        for f in &self.files {
            safe_relative(&f.path)?;
            if !seen.insert(f.path.as_str()) {
                return Err(format!("file {:?} is listed twice", f.path));
            }
            if f.sha256.len() != 64
                || !f
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(format!(
                    "file {:?}: sha256 must be 64 lower-case hex digits",
                    f.path
                ));
            }
            if f.bytes == 0 {
                return Err(format!("file {:?} is empty", f.path));
            }
        }
        let entry = self.entry()?;
        if entry.name != self.name || entry.version != self.version {
            return Err(format!(
                "the manifest describes {} {}, the release {} {}",
                entry.name, entry.version, self.name, self.version
            ));
        }
        let listed = |p: &Path, what: &str| -> Result<&ReleaseFile, String> {
            let text = p.to_str().unwrap_or_default();
            self.files
                .iter()
                .find(|f| f.path == text)
                .ok_or_else(|| format!("the manifest's {what} {text:?} is not among the files"))
        };
        let model = listed(&entry.file, "file")?;
        if model.sha256 != entry.sha256 {
            return Err(format!(
                "the manifest's sha256 of {:?} differs from the release's",
                model.path
            ));
        }
        listed(&entry.test_vector, "test_vector")?;
        if entry.float_file.is_some() {
            return Err("a release carries the int8 file only: drop float_file".into());
        }
        Ok(())
    }

    /// The model's manifest entry.
    pub fn entry(&self) -> Result<ModelEntry, String> {
        let manifest = Manifest::parse(&self.manifest, PathBuf::from("."))
            .map_err(|e| format!("the release's manifest: {e}"))?;
        match manifest.models.as_slice() {
            [one] => {
                safe_relative(&one.file.to_string_lossy())?;
                safe_relative(&one.test_vector.to_string_lossy())?;
                Ok(one.clone())
            }
            more => Err(format!(
                "the release's manifest must list exactly one model, it lists {}",
                more.len()
            )),
        }
    }

    /// Total bytes of the files.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// The release as text (what is signed).
    pub fn to_text(&self) -> Result<String, String> {
        let body = toml::to_string(self).map_err(|e| e.to_string())?;
        Ok(format!(
            "# edge-runtime model release: signed by headquarters (release.sig)\n{body}"
        ))
    }

    /// Writes a release of the model `name` of `manifest` into `out`: the model's files (the
    /// int8 file, its test vector, and the files its preprocessing names), `release.toml`,
    /// and `release.sig` signed with `key`.
    pub fn build(
        manifest_path: &Path,
        name: &str,
        key: &SigningKey,
        out: &Path,
    ) -> Result<Release, String> {
        let manifest = Manifest::load(manifest_path).map_err(|e| e.to_string())?;
        let entry = manifest
            .entry(name)
            .ok_or_else(|| format!("model {name:?} is not in {}", manifest_path.display()))?;
        // The model's block, as written in the manifest, without the float reference file.
        let text = std::fs::read_to_string(manifest_path).map_err(|e| e.to_string())?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| e.to_string())?;
        let mut block = table
            .get("model")
            .and_then(|m| m.as_array())
            .and_then(|models| {
                models
                    .iter()
                    .find(|m| m.get("name").and_then(|n| n.as_str()) == Some(name))
            })
            .and_then(|m| m.as_table())
            .cloned()
            .ok_or_else(|| format!("model {name:?} has no [[model]] block"))?;
        block.remove("float_file");
        block.remove("float_sha256");
        let mut paths = vec![entry.file.clone(), entry.test_vector.clone()];
        if let Some(card) = &entry.card {
            if manifest.path(card).is_file() {
                paths.push(card.clone());
            } else {
                block.remove("card");
            }
        }
        for value in entry.preprocess.values() {
            if let Some(p) = value.as_str() {
                if safe_relative(p).is_ok() && manifest.path(Path::new(p)).is_file() {
                    paths.push(PathBuf::from(p));
                }
            }
        }
        let mut one = toml::Table::new();
        one.insert("schema".into(), toml::Value::Integer(1));
        one.insert(
            "model".into(),
            toml::Value::Array(vec![toml::Value::Table(block)]),
        );
        let mut files = Vec::new();
        for p in paths {
            let text = p.to_string_lossy().to_string();
            if files.iter().any(|f: &ReleaseFile| f.path == text) {
                continue;
            }
            let bytes = std::fs::read(manifest.path(&p))
                .map_err(|e| format!("{}: {e}", manifest.path(&p).display()))?;
            let dest = out.join(&p);
            if let Some(dir) = dest.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::write(&dest, &bytes).map_err(|e| format!("{}: {e}", dest.display()))?;
            files.push(ReleaseFile {
                path: text,
                sha256: edge_models::sha256_hex(&bytes),
                bytes: bytes.len() as u64,
            });
        }
        let release = Release {
            schema: SCHEMA,
            name: name.to_string(),
            version: entry.version.clone(),
            files,
            manifest: toml::to_string(&one).map_err(|e| e.to_string())?,
        };
        release.check()?;
        let text = release.to_text()?;
        let signature = sign(text.as_bytes(), key);
        std::fs::write(out.join("release.toml"), &text).map_err(|e| e.to_string())?;
        std::fs::write(out.join("release.sig"), format!("{signature}\n"))
            .map_err(|e| e.to_string())?;
        Ok(release)
    }
}

/// A version: 1 to 64 of `A-Z a-z 0-9 . _ + -`, starting with a letter or digit.
pub fn check_version(version: &str) -> Result<(), String> {
    let ok = !version.is_empty()
        && version.len() <= 64
        && version.starts_with(|c: char| c.is_ascii_alphanumeric())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "version {version:?} must be 1 to 64 letters, digits, '.', '_', '+' or '-'"
        ))
    }
}

/// A path inside the release directory: relative, no `..`, plain characters.
fn safe_relative(path: &str) -> Result<(), String> {
    let plain = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c));
    let p = Path::new(path);
    let inside = !path.is_empty()
        && path.len() <= 200
        && p.components().all(|c| matches!(c, Component::Normal(_)));
    if plain && inside && !path.ends_with('/') {
        Ok(())
    } else {
        Err(format!(
            "path {path:?} must be relative, inside the release, of letters, digits and . _ - /"
        ))
    }
}

/// Reads an ed25519 public key (32 bytes, base64).
pub fn public_key(text: &str) -> Result<VerifyingKey, String> {
    let bytes = B64
        .decode(text.trim())
        .map_err(|e| format!("public key {text:?} is not base64: {e}"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| format!("public key {text:?} must be 32 bytes"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("public key {text:?}: {e}"))
}

/// Reads a signing key file: the 32-byte seed in base64.
pub fn signing_key(path: &Path) -> Result<SigningKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let seed = B64
        .decode(text.trim())
        .map_err(|e| format!("{}: not a base64 key: {e}", path.display()))?;
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| format!("{}: a signing key is 32 bytes", path.display()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Makes a new signing key from the operating system's randomness, writes it to `path`
/// (readable by its owner only) and returns the public key in base64.
pub fn generate_key(path: &Path) -> Result<String, String> {
    use std::io::{Read, Write};
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    writeln!(file, "{}", B64.encode(seed)).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(B64.encode(key.verifying_key().to_bytes()))
}

/// Signs `text`; the signature in base64.
pub fn sign(text: &[u8], key: &SigningKey) -> String {
    B64.encode(key.sign(text).to_bytes())
}

/// Checks that one of `keys` signed `text`.
pub fn verify(text: &[u8], signature: &str, keys: &[VerifyingKey]) -> Result<(), String> {
    if keys.is_empty() {
        return Err(
            "model updates are off: no headquarters key is configured ([model_updates] keys)"
                .into(),
        );
    }
    let bytes = B64
        .decode(signature.trim())
        .map_err(|e| format!("the signature is not base64: {e}"))?;
    let bytes: [u8; 64] = bytes
        .try_into()
        .map_err(|_| "an ed25519 signature is 64 bytes".to_string())?;
    let signature = Signature::from_bytes(&bytes);
    if keys.iter().any(|k| k.verify(text, &signature).is_ok()) {
        Ok(())
    } else {
        Err("the signature does not match the release for any configured headquarters key".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models_manifest() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/manifest.toml")
    }

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    #[test]
    fn a_built_release_verifies_with_its_key_only_and_describes_the_model() {
        let dir = tempfile::tempdir().unwrap();
        let release =
            Release::build(&models_manifest(), "forecaster", &key(1), dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join("release.toml")).unwrap();
        let sig = std::fs::read_to_string(dir.path().join("release.sig")).unwrap();
        assert_eq!(Release::parse(&text).unwrap(), release);
        let entry = release.entry().unwrap();
        assert_eq!(entry.name, "forecaster");
        for f in &release.files {
            let bytes = std::fs::read(dir.path().join(&f.path)).unwrap();
            assert_eq!(edge_models::sha256_hex(&bytes), f.sha256);
        }
        let good = key(1).verifying_key();
        let other = key(2).verifying_key();
        verify(text.as_bytes(), &sig, &[other, good]).unwrap();
        assert!(verify(text.as_bytes(), &sig, &[other]).is_err());
        assert!(verify(text.as_bytes(), &sig, &[])
            .unwrap_err()
            .contains("no headquarters key"));
        // One changed byte anywhere in the text breaks the signature.
        let altered = text.replacen(&release.files[0].sha256[..8], "00000000", 1);
        assert!(verify(altered.as_bytes(), &sig, &[good]).is_err());
        assert!(verify(text.as_bytes(), "not base64!", &[good]).is_err());
        assert!(verify(text.as_bytes(), "AAAA", &[good]).is_err());
    }

    #[test]
    fn bad_releases_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let good = Release::build(&models_manifest(), "recommender", &key(1), dir.path()).unwrap();
        type Change = Box<dyn Fn(&mut Release)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|r| r.schema = 2), "schema"),
            (
                Box::new(|r| r.name = "firmware".into()),
                "not one this build serves",
            ),
            (Box::new(|r| r.version = "../1".into()), "version"),
            (
                Box::new(|r| r.files[0].path = "../etc/passwd".into()),
                "must be relative",
            ),
            (
                Box::new(|r| r.files[0].path = "/etc/passwd".into()),
                "must be relative",
            ),
            (Box::new(|r| r.files[0].sha256 = "xyz".into()), "sha256"),
            (Box::new(|r| r.files[0].bytes = 0), "empty"),
            (Box::new(|r| r.files.clear()), "1 to 16 files"),
            (
                Box::new(|r| {
                    let f = r.files[0].clone();
                    r.files.push(f)
                }),
                "twice",
            ),
            (
                Box::new(|r| r.version = "9.9.9".into()),
                "the manifest describes",
            ),
            (
                Box::new(|r| r.manifest = "schema = 1\n".into()),
                "exactly one model",
            ),
            (Box::new(|r| r.manifest = "not toml [".into()), "manifest"),
            (
                Box::new(|r| r.files.retain(|f| !f.path.starts_with("onnx/"))),
                "not among the files",
            ),
        ];
        for (change, expected) in cases {
            let mut r = good.clone();
            change(&mut r);
            let err = Release::parse(&r.to_text().unwrap()).unwrap_err();
            assert!(err.contains(expected), "{expected:?} not in {err:?}");
        }
        let mut r = good.clone();
        r.files[0].sha256 = "0".repeat(64);
        let err = Release::parse(&r.to_text().unwrap()).unwrap_err();
        assert!(err.contains("differs") || err.contains("sha256"), "{err}");
        assert!(Release::parse("schema = 1\nname = 3").is_err());
        assert!(Release::parse(&format!("{}\nextra = 1\n", good.to_text().unwrap())).is_err());
    }

    #[test]
    fn keys_round_trip_and_bad_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hq.key");
        let public = generate_key(&path).unwrap();
        let secret = signing_key(&path).unwrap();
        assert_eq!(public_key(&public).unwrap(), secret.verifying_key());
        // never overwrites a key
        assert!(generate_key(&path).is_err());
        assert!(public_key("abc").is_err());
        assert!(public_key(&B64.encode([7u8; 31])).is_err());
        std::fs::write(&path, "garbage").unwrap();
        assert!(signing_key(&path).is_err());
    }
}
