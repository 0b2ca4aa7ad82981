//! Model updates from headquarters on disk: staging a signed release chunk by chunk, checking
//! it, installing it, and the record of which installed version serves (`active.toml`).
//!
//! Layout under `{state_dir}/models/`:
//!
//! ```text
//! staged/{name}/               one transfer per model: release.toml, release.sig, manifest.toml
//!                              and the files as they arrive (appended, synced per chunk)
//! installed/{name}-{version}/  complete, verified releases (the serving one and the previous)
//! active.toml                  which installed version serves instead of the packaged model
//! ```
//!
//! Every step is crash-safe: a chunk is acknowledged only once it is on disk, a release is
//! moved into `installed/` by one rename and made active by rewriting `active.toml` atomically,
//! and on start an installed model that no longer loads is rolled back (see `hub.rs`).

use super::release::{self, Release};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Room left free on the state filesystem beyond the release itself (the store and outbox
/// live there too).
const DISK_MARGIN: u64 = 16 * 1024 * 1024;

/// Which installed version of each model serves; a model not listed serves from the package.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Active(pub BTreeMap<String, ActiveModel>);

/// One model installed from headquarters.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveModel {
    /// The installed version that serves.
    pub version: String,
    /// The installed version to roll back to; none: the packaged model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

/// The model directory inside the state directory.
pub fn root(state_dir: &Path) -> PathBuf {
    state_dir.join("models")
}

/// Directory of an installed release.
pub fn installed_dir(root: &Path, name: &str, version: &str) -> PathBuf {
    root.join("installed").join(format!("{name}-{version}"))
}

fn staged_dir(root: &Path, name: &str) -> PathBuf {
    root.join("staged").join(name)
}

/// The newest modification time of `path` or anything under it: an appended chunk changes its
/// file, a new file its directory.
fn newest_change(path: &Path) -> Option<std::time::SystemTime> {
    let own = std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok();
    let below = std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| newest_change(&e.path()));
    own.into_iter().chain(below).max()
}

fn active_path(root: &Path) -> PathBuf {
    root.join("active.toml")
}

/// Reads `active.toml` (absent: nothing installed).
pub fn read_active(root: &Path) -> Result<Active, String> {
    let path = active_path(root);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Active::default()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Replaces `active.toml` atomically, and removes installed releases it no longer names.
pub fn write_active(root: &Path, active: &Active) -> Result<(), String> {
    std::fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let body = toml::to_string(active).map_err(|e| e.to_string())?;
    let text = format!(
        "# Written by edge-runtime: models installed from headquarters that serve instead of the\n\
         # packaged ones. Remove a block (or the file) to serve the packaged model again.\n{body}"
    );
    crate::catalog::write_atomically(&active_path(root), text.as_bytes())
        .map_err(|e| format!("{}: {e}", active_path(root).display()))?;
    prune_installed(root, active);
    Ok(())
}

/// Removes installed releases that are neither serving nor kept for a rollback.
fn prune_installed(root: &Path, active: &Active) {
    let Ok(entries) = std::fs::read_dir(root.join("installed")) else {
        return;
    };
    let keep: Vec<String> = active
        .0
        .iter()
        .flat_map(|(name, a)| {
            std::iter::once(format!("{name}-{}", a.version))
                .chain(a.previous.iter().map(move |p| format!("{name}-{p}")))
        })
        .collect();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !keep.contains(&name) {
            if let Err(e) = std::fs::remove_dir_all(entry.path()) {
                log::warn!("models: cannot remove {}: {e}", entry.path().display());
            }
        }
    }
}

/// A transfer in progress, as the device sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The release being received.
    pub release: Release,
    /// Bytes on disk of each file, in release order.
    pub have: Vec<u64>,
}

impl Progress {
    /// Whether every file is complete.
    pub fn complete(&self) -> bool {
        self.release
            .files
            .iter()
            .zip(&self.have)
            .all(|(f, h)| *h == f.bytes)
    }

    /// What headquarters still has to send: `[{"path", "offset", "bytes"}]`.
    pub fn needed(&self) -> serde_json::Value {
        let need: Vec<serde_json::Value> = self
            .release
            .files
            .iter()
            .zip(&self.have)
            .filter(|(f, h)| **h < f.bytes)
            .map(|(f, h)| serde_json::json!({"path": f.path, "offset": h, "bytes": f.bytes}))
            .collect();
        serde_json::Value::Array(need)
    }

    /// `12.0 of 17.0 MB` style summary.
    pub fn summary(&self) -> String {
        let have: u64 = self.have.iter().sum();
        format!(
            "{} {}: {} of {} bytes received",
            self.release.name,
            self.release.version,
            have,
            self.release.total_bytes()
        )
    }
}

/// The staging area of one device.
pub struct Staging {
    root: PathBuf,
    keys: Vec<VerifyingKey>,
    max_bytes: u64,
    /// Held while a transfer's files change: commands and the expiry sweep run on different
    /// threads.
    busy: std::sync::Mutex<()>,
}

impl Staging {
    /// Staging under `root` accepting releases signed by one of `keys`, at most `max_bytes`.
    pub fn new(root: PathBuf, keys: Vec<VerifyingKey>, max_bytes: u64) -> Staging {
        Staging {
            root,
            keys,
            max_bytes,
            busy: std::sync::Mutex::new(()),
        }
    }

    /// The model directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Accepts a signed release offer: checks the signature and the release, the size limit and
    /// the free disk space, and prepares (or resumes) its transfer. `serving` is the version
    /// that serves now: offering it again is refused.
    pub fn offer(
        &self,
        text: &str,
        signature: &str,
        serving: Option<&str>,
    ) -> Result<Progress, String> {
        release::verify(text.as_bytes(), signature, &self.keys)?;
        let release = Release::parse(text)?;
        let _busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        if serving == Some(release.version.as_str()) {
            return Err(format!(
                "{} {} is already serving",
                release.name, release.version
            ));
        }
        let total = release.total_bytes();
        if total > self.max_bytes {
            return Err(format!(
                "the release holds {total} bytes, more than [model_updates] max_bytes = {}",
                self.max_bytes
            ));
        }
        let dir = staged_dir(&self.root, &release.name);
        // The same release again resumes its transfer; any other replaces it.
        let resumed = match self.progress(&release.name) {
            Ok(Some(p)) if p.release == release => Some(p),
            _ => None,
        };
        if let Some(p) = resumed {
            return Ok(p);
        }
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let free = crate::sync::outbox::free_bytes(&dir).unwrap_or(u64::MAX);
        if free < total.saturating_add(DISK_MARGIN) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(format!(
                "not enough disk space: the release needs {total} bytes plus {DISK_MARGIN} to spare, {free} are free"
            ));
        }
        let write = |file: &str, bytes: &[u8]| -> Result<(), String> {
            crate::catalog::write_atomically(&dir.join(file), bytes)
                .map_err(|e| format!("cannot stage {file}: {e}"))
        };
        let staged = write("release.sig", signature.as_bytes())
            .and_then(|()| write("manifest.toml", release.manifest.as_bytes()))
            // Written last: a staging directory without it is no transfer.
            .and_then(|()| write("release.toml", text.as_bytes()));
        if let Err(e) = staged {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        Ok(Progress {
            have: vec![0; release.files.len()],
            release,
        })
    }

    /// The transfer of `name` in progress, if any.
    pub fn progress(&self, name: &str) -> Result<Option<Progress>, String> {
        let dir = staged_dir(&self.root, name);
        let text = match std::fs::read_to_string(dir.join("release.toml")) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", dir.display())),
        };
        let release = Release::parse(&text)?;
        let have = release
            .files
            .iter()
            .map(|f| {
                std::fs::metadata(dir.join(&f.path))
                    .map(|m| m.len())
                    .unwrap_or(0)
            })
            .collect();
        Ok(Some(Progress { release, have }))
    }

    /// Stores one chunk of a file at `offset`. A chunk already received is accepted again
    /// (delivery is at-least-once); a gap is refused with the offset expected.
    pub fn chunk(
        &self,
        name: &str,
        version: &str,
        path: &str,
        offset: u64,
        data: &str,
    ) -> Result<Progress, String> {
        let _busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        let Some(mut progress) = self.progress(name)? else {
            return Err(format!(
                "no release of {name} is being received: send its offer first"
            ));
        };
        if progress.release.version != version {
            return Err(format!(
                "the release of {name} being received is {}, not {version}",
                progress.release.version
            ));
        }
        let Some(ix) = progress.release.files.iter().position(|f| f.path == path) else {
            return Err(format!("{path:?} is not a file of {name} {version}"));
        };
        let bytes = B64
            .decode(data)
            .map_err(|e| format!("chunk data is not base64: {e}"))?;
        let size = progress.release.files[ix].bytes;
        let have = progress.have[ix];
        let end = offset.saturating_add(bytes.len() as u64);
        if offset > have {
            return Err(format!(
                "chunk at offset {offset} of {path:?} leaves a gap: {have} bytes are stored, send from there"
            ));
        }
        if end > size {
            return Err(format!(
                "chunk ends at byte {end} of {path:?}, which has {size} bytes"
            ));
        }
        if end > have {
            let file = self.root.join("staged").join(name).join(path);
            let fresh = &bytes[(have - offset) as usize..];
            append(&file, fresh).map_err(|e| format!("cannot store the chunk: {e}"))?;
            progress.have[ix] = end;
        }
        Ok(progress)
    }

    /// Checks the complete transfer of `name` against its release (file hashes) and returns the
    /// staged manifest to self-test. Files that do not match are discarded, to be sent again.
    pub fn verified_manifest(&self, progress: &Progress) -> Result<PathBuf, String> {
        let dir = staged_dir(&self.root, &progress.release.name);
        for f in &progress.release.files {
            let file = dir.join(&f.path);
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let actual = edge_models::sha256_hex(&bytes);
            if actual != f.sha256 {
                let _ = std::fs::remove_file(&file);
                return Err(format!(
                    "{} arrived with sha256 {actual}, the signed release says {}: discarded, send it again",
                    f.path, f.sha256
                ));
            }
        }
        Ok(dir.join("manifest.toml"))
    }

    /// Drops the transfers that received nothing for `max_age` (headquarters gave up on them, or
    /// the device was offline for that long; a push started again begins anew). Returns the
    /// names of the models whose transfer was dropped.
    pub fn expire(&self, max_age: std::time::Duration) -> Vec<String> {
        let _busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        let Ok(entries) = std::fs::read_dir(self.root.join("staged")) else {
            return Vec::new();
        };
        let mut dropped = Vec::new();
        for entry in entries.flatten() {
            let dir = entry.path();
            let idle = newest_change(&dir).and_then(|t| t.elapsed().ok());
            if idle.is_some_and(|idle| idle >= max_age) {
                let name = entry.file_name().to_string_lossy().to_string();
                match std::fs::remove_dir_all(&dir) {
                    Ok(()) => {
                        log::warn!(
                            "models: dropped the unfinished transfer of {name}: nothing received for {} h",
                            max_age.as_secs() / 3600
                        );
                        dropped.push(name);
                    }
                    Err(e) => log::warn!("models: cannot remove {}: {e}", dir.display()),
                }
            }
        }
        dropped
    }

    /// Drops the transfer of `name`.
    pub fn discard(&self, name: &str) {
        let dir = staged_dir(&self.root, name);
        if dir.exists() {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                log::warn!("models: cannot remove {}: {e}", dir.display());
            }
        }
    }

    /// Moves the verified transfer of `name` into `installed/` and returns its manifest there.
    pub fn install(&self, progress: &Progress) -> Result<PathBuf, String> {
        let r = &progress.release;
        let from = staged_dir(&self.root, &r.name);
        let to = installed_dir(&self.root, &r.name, &r.version);
        let parent = self.root.join("installed");
        std::fs::create_dir_all(&parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        if to.exists() {
            std::fs::remove_dir_all(&to).map_err(|e| format!("{}: {e}", to.display()))?;
        }
        std::fs::rename(&from, &to).map_err(|e| format!("cannot install {}: {e}", to.display()))?;
        std::fs::File::open(&parent)
            .and_then(|d| d.sync_all())
            .map_err(|e| format!("{}: {e}", parent.display()))?;
        Ok(to.join("manifest.toml"))
    }
}

/// Appends `bytes` to `file` (creating it and its directory) and syncs the data.
fn append(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    let before = f.metadata()?.len();
    let written = f.write_all(bytes).and_then(|()| f.sync_data());
    if written.is_err() {
        // A failed write (a full disk) leaves no half chunk behind: the next try starts clean.
        let _ = f.set_len(before);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use std::time::Duration;

    fn built(dir: &Path, name: &str) -> (String, String, Release) {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/manifest.toml");
        let key = SigningKey::from_bytes(&[3; 32]);
        let release = Release::build(&manifest, name, &key, dir).unwrap();
        let text = std::fs::read_to_string(dir.join("release.toml")).unwrap();
        let sig = std::fs::read_to_string(dir.join("release.sig")).unwrap();
        (text, sig, release)
    }

    fn staging(root: &Path) -> Staging {
        let key = SigningKey::from_bytes(&[3; 32]).verifying_key();
        Staging::new(root.to_path_buf(), vec![key], 64 << 20)
    }

    fn send_all(s: &Staging, src: &Path, r: &Release, chunk: usize) -> Progress {
        let mut last = None;
        for f in &r.files {
            let bytes = std::fs::read(src.join(&f.path)).unwrap();
            for (i, part) in bytes.chunks(chunk).enumerate() {
                let p = s
                    .chunk(
                        &r.name,
                        &r.version,
                        &f.path,
                        (i * chunk) as u64,
                        &B64.encode(part),
                    )
                    .unwrap();
                last = Some(p);
            }
        }
        last.unwrap()
    }

    #[test]
    fn a_release_arrives_in_chunks_resumes_and_installs() {
        let src = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let (text, sig, release) = built(src.path(), "forecaster");
        let s = staging(state.path());
        let p = s.offer(&text, &sig, None).unwrap();
        assert_eq!(p.have, vec![0; release.files.len()]);
        assert!(!p.complete());
        // First half of the first file, then the same offer again: the transfer resumes.
        let f0 = &release.files[0];
        let bytes = std::fs::read(src.path().join(&f0.path)).unwrap();
        let half = bytes.len() / 2;
        s.chunk(
            "forecaster",
            &release.version,
            &f0.path,
            0,
            &B64.encode(&bytes[..half]),
        )
        .unwrap();
        let p = s.offer(&text, &sig, None).unwrap();
        assert_eq!(p.have[0], half as u64);
        assert_eq!(p.needed()[0]["offset"], half as u64);
        // A chunk sent twice is accepted and changes nothing; a gap is refused.
        s.chunk(
            "forecaster",
            &release.version,
            &f0.path,
            0,
            &B64.encode(&bytes[..10]),
        )
        .unwrap();
        let err = s
            .chunk(
                "forecaster",
                &release.version,
                &f0.path,
                half as u64 + 5,
                &B64.encode(b"x"),
            )
            .unwrap_err();
        assert!(err.contains(&format!("{half} bytes are stored")), "{err}");
        let p = send_all(&s, src.path(), &release, 7000);
        assert!(p.complete());
        let manifest = s.verified_manifest(&p).unwrap();
        let m = edge_models::Manifest::load(&manifest).unwrap();
        edge_models::Forecaster::load(&m).unwrap();
        let installed = s.install(&p).unwrap();
        assert!(installed.starts_with(installed_dir(state.path(), "forecaster", &release.version)));
        assert!(s.progress("forecaster").unwrap().is_none());
        let err = s.offer(&text, &sig, Some(&release.version)).unwrap_err();
        assert!(err.contains("already serving"), "{err}");
    }

    #[test]
    fn bad_offers_and_chunks_are_refused_and_store_nothing() {
        let src = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let (text, sig, release) = built(src.path(), "recommender");
        let s = staging(state.path());
        // wrong key, altered text, no keys, too big
        let other = Staging::new(
            state.path().to_path_buf(),
            vec![SigningKey::from_bytes(&[4; 32]).verifying_key()],
            64 << 20,
        );
        assert!(other
            .offer(&text, &sig, None)
            .unwrap_err()
            .contains("does not match"));
        let altered = text.replace(&release.version, "9.9.9");
        assert!(s.offer(&altered, &sig, None).is_err());
        let off = Staging::new(state.path().to_path_buf(), vec![], 64 << 20);
        assert!(off
            .offer(&text, &sig, None)
            .unwrap_err()
            .contains("no headquarters key"));
        let small = Staging::new(
            state.path().to_path_buf(),
            vec![SigningKey::from_bytes(&[3; 32]).verifying_key()],
            1000,
        );
        assert!(small
            .offer(&text, &sig, None)
            .unwrap_err()
            .contains("max_bytes"));
        assert!(!state.path().join("staged").join("recommender").exists());
        // chunks without an offer, of another version, of an unknown file, bad base64, too long
        let f = &release.files[0].path;
        let v = &release.version;
        assert!(s
            .chunk("recommender", v, f, 0, "AAAA")
            .unwrap_err()
            .contains("offer first"));
        s.offer(&text, &sig, None).unwrap();
        assert!(s
            .chunk("recommender", "0.0.1", f, 0, "AAAA")
            .unwrap_err()
            .contains("not 0.0.1"));
        assert!(s
            .chunk("recommender", v, "x.onnx", 0, "AAAA")
            .unwrap_err()
            .contains("not a file"));
        assert!(s
            .chunk("recommender", v, f, 0, "!!!")
            .unwrap_err()
            .contains("base64"));
        let big = B64.encode(vec![0u8; release.files[0].bytes as usize + 1]);
        assert!(s
            .chunk("recommender", v, f, 0, &big)
            .unwrap_err()
            .contains("which has"));
        // A corrupted file is found at the end, discarded, and can be sent again.
        for file in &release.files {
            let mut bytes = std::fs::read(src.path().join(&file.path)).unwrap();
            if file.path == *f {
                bytes[3] ^= 1;
            }
            s.chunk("recommender", v, &file.path, 0, &B64.encode(&bytes))
                .unwrap();
        }
        let p = s.progress("recommender").unwrap().unwrap();
        assert!(p.complete());
        let err = s.verified_manifest(&p).unwrap_err();
        assert!(err.contains("send it again"), "{err}");
        let p = s.progress("recommender").unwrap().unwrap();
        assert_eq!(p.needed().as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_transfer_idle_for_longer_than_the_limit_is_dropped_and_a_recent_one_kept() {
        let src = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let s = staging(state.path());
        let (text, sig, old) = built(&src.path().join("old"), "forecaster");
        s.offer(&text, &sig, None).unwrap();
        let (text, sig, recent) = built(&src.path().join("recent"), "recommender");
        s.offer(&text, &sig, None).unwrap();
        // The forecaster's transfer received its last chunk three days ago.
        let f0 = &old.files[0];
        let bytes = std::fs::read(src.path().join("old").join(&f0.path)).unwrap();
        s.chunk(
            "forecaster",
            &old.version,
            &f0.path,
            0,
            &B64.encode(&bytes[..100]),
        )
        .unwrap();
        let three_days_ago = std::time::SystemTime::now() - Duration::from_secs(72 * 3600);
        let dir = state.path().join("staged").join("forecaster");
        fn age(path: &std::path::Path, t: std::time::SystemTime) {
            if path.is_dir() {
                for e in std::fs::read_dir(path).unwrap().flatten() {
                    age(&e.path(), t);
                }
            }
            std::fs::File::open(path).unwrap().set_modified(t).unwrap();
        }
        age(&dir, three_days_ago);
        assert!(newest_change(&dir).unwrap() <= three_days_ago);
        assert_eq!(s.expire(Duration::from_secs(48 * 3600)), vec!["forecaster"]);
        assert!(!dir.exists());
        assert_eq!(s.progress("forecaster").unwrap(), None);
        assert_eq!(s.progress("recommender").unwrap().unwrap().release, recent);
        // Nothing else is old enough; a missing staging directory is no error.
        assert!(s.expire(Duration::from_secs(48 * 3600)).is_empty());
        let empty = tempfile::tempdir().unwrap();
        assert!(staging(empty.path()).expire(Duration::ZERO).is_empty());
    }

    #[test]
    fn active_toml_round_trips_and_prunes_what_it_no_longer_names() {
        let state = tempfile::tempdir().unwrap();
        let root = state.path();
        assert_eq!(read_active(root).unwrap(), Active::default());
        for v in ["1", "2", "3"] {
            std::fs::create_dir_all(installed_dir(root, "slotnet", v)).unwrap();
        }
        let mut active = Active::default();
        active.0.insert(
            "slotnet".into(),
            ActiveModel {
                version: "3".into(),
                previous: Some("2".into()),
            },
        );
        write_active(root, &active).unwrap();
        assert_eq!(read_active(root).unwrap(), active);
        assert!(!installed_dir(root, "slotnet", "1").exists());
        assert!(installed_dir(root, "slotnet", "2").exists());
        std::fs::write(root.join("active.toml"), "[slotnet]\nversion = 3\n").unwrap();
        assert!(read_active(root).is_err());
    }
}
