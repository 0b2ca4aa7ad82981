//! The models the daemon serves with, and how they change while it runs: a signed update from
//! headquarters is staged, self-tested, swapped in atomically and watched; it is rolled back by
//! itself when it fails or misbehaves, and by headquarters on request.
//!
//! Readers (the stock stage) ask for a model on every frame and get an `Arc` of the one serving
//! at that moment, so a swap never waits for them and never pulls a model from under a run.

use super::release::public_key;
use super::update::{self, Active, ActiveModel, Progress, Staging};
use super::ModelStatus;
use crate::metrics::{Metrics, ModelLabels};
use edge_models::{Manifest, ModelSet, SlotNet};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Runs a new model must get through before it is trusted (and the model it replaced freed).
pub const PROBATION_RUNS: u32 = 100;
/// Failed runs during probation that roll a new model back.
pub const PROBATION_FAILURES: u32 = 5;
/// A model that is not used ends its probation after this long without failures.
const PROBATION_TIME: Duration = Duration::from_secs(3600);
/// An unfinished transfer that received nothing for this long is dropped from the disk.
const STAGED_MAX_AGE: Duration = Duration::from_secs(48 * 3600);

/// Where a model stands for a reader.
pub enum Lookup<T> {
    /// The models are still loading.
    Loading,
    /// The model serving now.
    Ready(Arc<T>),
    /// Loading finished without this model.
    Missing,
}

/// Settings of the hub (from the config).
pub struct HubSettings {
    /// The packaged (or configured) manifest.
    pub packaged: PathBuf,
    /// The daemon's state directory (installed models live under `models/`).
    pub state_dir: PathBuf,
    /// Headquarters' ed25519 public keys (base64); empty: updates are refused.
    pub keys: Vec<String>,
    /// Largest release accepted, in bytes.
    pub max_bytes: u64,
    /// slotnet's batch (slots per frame).
    pub slot_batch: usize,
}

struct Probation {
    version: String,
    started: Instant,
    runs: u32,
    failures: u32,
    last_error: String,
    /// The set before the swap: a rollback is one swap back, without loading anything.
    fallback: Arc<ModelSet>,
    fallback_desc: String,
}

#[derive(Default)]
struct Changes {
    probation: Vec<(String, Probation)>,
    /// Per model: the status object of the health message.
    status: Map<String, Value>,
}

/// The serving models.
pub struct ModelHub {
    current: RwLock<Option<Arc<ModelSet>>>,
    changes: Mutex<Changes>,
    staging: Staging,
    packaged: PathBuf,
    slot_batch: usize,
    metrics: Arc<Metrics>,
    status: ModelStatus,
}

/// A command on `cmd/model` (body of `cmd.model@1`).
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
enum ModelCommand {
    /// A signed release: `release` is the text of release.toml, `signature` its base64 ed25519
    /// signature.
    Offer { release: String, signature: String },
    /// Bytes `offset..` of one file of the release being received (base64).
    Chunk {
        name: String,
        version: String,
        path: String,
        offset: u64,
        data: String,
    },
    /// Serve the previous model again (the previous installed one, else the packaged one).
    Rollback { name: String },
    /// What serves and what is being received.
    Status {},
}

impl ModelHub {
    /// A hub with nothing loaded yet (readers see `Loading`). Invalid keys are an error.
    pub fn new(
        settings: HubSettings,
        metrics: Arc<Metrics>,
        status: ModelStatus,
    ) -> Result<ModelHub, String> {
        let keys = settings
            .keys
            .iter()
            .map(|k| public_key(k))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ModelHub {
            current: RwLock::new(None),
            changes: Mutex::new(Changes::default()),
            staging: Staging::new(update::root(&settings.state_dir), keys, settings.max_bytes),
            packaged: settings.packaged,
            slot_batch: settings.slot_batch,
            metrics,
            status,
        })
    }

    /// slotnet as it serves now.
    pub fn slotnet(&self) -> Lookup<SlotNet> {
        match self.current() {
            None => Lookup::Loading,
            Some(set) => match &set.slotnet {
                Some(m) => Lookup::Ready(m.clone()),
                None => Lookup::Missing,
            },
        }
    }

    /// The set serving now (`None` while loading).
    pub fn current(&self) -> Option<Arc<ModelSet>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn swap(&self, set: Arc<ModelSet>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(set);
    }

    fn changes(&self) -> std::sync::MutexGuard<'_, Changes> {
        self.changes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Loads every model (blocking: run it off the async executor): an installed update where
    /// `active.toml` names one, else the packaged model. An installed model that no longer
    /// loads is rolled back here. Failures are reported, never fatal.
    pub fn load(&self) {
        let root = self.staging.root().to_path_buf();
        // Held throughout: an update that completes meanwhile waits, then sees this set.
        let mut changes = self.changes();
        let mut active = match update::read_active(&root) {
            Ok(a) => a,
            Err(e) => {
                log::error!("models: {e}; serving the packaged models");
                Active::default()
            }
        };
        let packaged = Manifest::load(&self.packaged);
        if let Err(e) = &packaged {
            log::error!("{e}");
        }
        let mut set = ModelSet::default();
        let mut rolled = false;
        for name in edge_models::set::KNOWN {
            let mut note = None;
            if let Some(a) = active.0.get(name).cloned() {
                let dir = update::installed_dir(&root, name, &a.version);
                match load_from(&mut set, &dir.join("manifest.toml"), name, self.slot_batch) {
                    Ok(ms) => {
                        log::info!("model {name} {} ready from headquarters' update ({ms:.0} ms: sha256, plan, test vector)", a.version);
                        changes.status.insert(
                            name.into(),
                            json!({"version": a.version, "state": "ready", "source": "headquarters"}),
                        );
                        continue;
                    }
                    Err(e) => {
                        log::error!(
                            "models: the installed {name} {} no longer loads ({e}); rolling it back",
                            a.version
                        );
                        note = Some(format!("{}: {e}", a.version));
                        rolled = true;
                        match a.previous {
                            Some(p) => {
                                let dir = update::installed_dir(&root, name, &p);
                                match load_from(&mut set, &dir.join("manifest.toml"), name, self.slot_batch) {
                                    Ok(_) => {
                                        active.0.insert(name.into(), ActiveModel { version: p.clone(), previous: None });
                                        changes.status.insert(name.into(), json!({"version": p, "state": "ready", "source": "headquarters", "rolled_back": note}));
                                        continue;
                                    }
                                    Err(e) => log::error!("models: the previous {name} {p} does not load either ({e})"),
                                }
                                active.0.remove(name);
                            }
                            None => {
                                active.0.remove(name);
                            }
                        }
                    }
                }
            }
            let outcome = match &packaged {
                Ok(m) => set.load_one(m, name, self.slot_batch),
                Err(e) => Err(e.to_string()),
            };
            let version = packaged
                .as_ref()
                .ok()
                .and_then(|m| m.entry(name))
                .map(|e| e.version.clone())
                .unwrap_or_default();
            let mut s = match outcome {
                Ok(ms) => {
                    log::info!(
                        "model {name} {version} ready ({ms:.0} ms: sha256, plan, test vector)"
                    );
                    json!({"version": version, "state": "ready", "source": "packaged"})
                }
                Err(e) => {
                    json!({"version": version, "state": "failed", "source": "packaged", "error": e})
                }
            };
            if let Some(n) = note {
                s["rolled_back"] = json!(n);
            }
            changes.status.insert(name.into(), s);
        }
        if let Ok(m) = &packaged {
            for entry in &m.models {
                if !edge_models::set::KNOWN.contains(&entry.name.as_str()) {
                    changes.status.insert(
                        entry.name.clone(),
                        json!({"version": entry.version, "state": "failed", "source": "packaged",
                               "error": "this build has no use for this model"}),
                    );
                }
            }
        }
        if rolled {
            if let Err(e) = update::write_active(&root, &active) {
                log::error!("models: cannot record the rollback: {e}");
            }
        }
        set.reports.clear();
        self.swap(Arc::new(set));
        self.publish(&changes, rolled);
        drop(changes);
        release_freed_memory();
    }

    /// Records the outcome of one run of `name` (the stock stage reports slotnet's). A new
    /// model with too many failed runs during its probation is rolled back.
    pub fn report(&self, name: &str, outcome: Result<(), &str>) {
        let mut changes = self.changes();
        let Some(ix) = changes.probation.iter().position(|(n, _)| n == name) else {
            return;
        };
        let p = &mut changes.probation[ix].1;
        match outcome {
            Ok(()) => p.runs += 1,
            Err(e) => {
                p.failures += 1;
                p.last_error = e.to_string();
            }
        }
        if p.failures >= PROBATION_FAILURES {
            let (_, p) = changes.probation.remove(ix);
            let why = format!(
                "{} of its first {} runs failed (last: {})",
                p.failures,
                p.runs + p.failures,
                p.last_error
            );
            log::error!(
                "models: {name} {} misbehaves: {why}; rolling it back to {}",
                p.version,
                p.fallback_desc
            );
            self.roll_back_to(&mut changes, name, &p.fallback, &p.version, &why);
        } else if p.runs >= PROBATION_RUNS {
            self.trust(&mut changes, ix);
        }
    }

    /// Drops unfinished transfers idle for `STAGED_MAX_AGE`, and ends the probation of models
    /// that have served `PROBATION_TIME` without failing (models that run rarely or never);
    /// called now and then.
    pub fn sweep(&self) {
        self.staging.expire(STAGED_MAX_AGE);
        let mut changes = self.changes();
        while let Some(ix) = changes
            .probation
            .iter()
            .position(|(_, p)| p.started.elapsed() >= PROBATION_TIME)
        {
            self.trust(&mut changes, ix);
        }
    }

    /// A model passed its probation: the model it replaced is let go.
    fn trust(&self, changes: &mut Changes, ix: usize) {
        let (name, p) = changes.probation.remove(ix);
        log::info!(
            "models: {name} {} passed its probation ({} runs, {} failed)",
            p.version,
            p.runs,
            p.failures
        );
        if let Some(s) = changes.status.get_mut(&name) {
            s["state"] = json!("ready");
        }
        self.publish(changes, false);
        drop(p);
        release_freed_memory();
    }

    /// Serves `name` from `fallback` again and records it on disk (the rolled-back release is
    /// removed).
    fn roll_back_to(
        &self,
        changes: &mut Changes,
        name: &str,
        fallback: &ModelSet,
        bad_version: &str,
        why: &str,
    ) {
        let now = self.current().unwrap_or_default();
        self.swap(Arc::new(now.with_model_from(fallback, name)));
        let root = self.staging.root();
        let mut active = update::read_active(root).unwrap_or_default();
        let previous = active.0.get(name).and_then(|a| a.previous.clone());
        let (version, source) = match previous {
            Some(p) => {
                active.0.insert(
                    name.into(),
                    ActiveModel {
                        version: p.clone(),
                        previous: None,
                    },
                );
                (p, "headquarters")
            }
            None => {
                active.0.remove(name);
                (
                    fallback.version(name).unwrap_or_default().to_string(),
                    "packaged",
                )
            }
        };
        if let Err(e) = update::write_active(root, &active) {
            log::error!("models: cannot record the rollback of {name}: {e}");
        }
        let state = if fallback.version(name).is_some() {
            "ready"
        } else {
            "failed"
        };
        self.retire(changes, name);
        changes.status.insert(
            name.into(),
            json!({"version": version, "state": state, "source": source,
                   "rolled_back": format!("{bad_version}: {why}")}),
        );
        self.publish(changes, true);
    }

    /// Handles the body of a `cmd/model` command: the ack's reason and detail, or why not.
    pub fn command(&self, body: Value) -> Result<(String, Option<Value>), String> {
        let cmd: ModelCommand = serde_json::from_value(body).map_err(|e| {
            format!("not a model command (op offer, chunk, rollback or status): {e}")
        })?;
        match cmd {
            ModelCommand::Offer { release, signature } => {
                let name = super::release::Release::parse(&release)
                    .map(|r| r.name)
                    .ok();
                let serving = name.as_deref().and_then(|n| {
                    let set = self.current()?;
                    set.version(n).map(str::to_string)
                });
                let p = self
                    .staging
                    .offer(&release, &signature, serving.as_deref())?;
                if p.complete() {
                    return self.finish(p);
                }
                Ok((
                    format!("offer accepted (signature ok): {}", p.summary()),
                    Some(json!({"need": p.needed()})),
                ))
            }
            ModelCommand::Chunk {
                name,
                version,
                path,
                offset,
                data,
            } => {
                let p = self.staging.chunk(&name, &version, &path, offset, &data)?;
                if p.complete() {
                    self.finish(p)
                } else {
                    Ok((
                        format!("chunk stored: {}", p.summary()),
                        Some(json!({"need": p.needed()})),
                    ))
                }
            }
            ModelCommand::Rollback { name } => self.rollback(&name).map(|r| (r, None)),
            ModelCommand::Status {} => {
                let mut staged = Vec::new();
                for name in edge_models::set::KNOWN {
                    if let Ok(Some(p)) = self.staging.progress(name) {
                        staged.push(
                            json!({"name": name, "version": p.release.version, "need": p.needed()}),
                        );
                    }
                }
                let models = self.status.json();
                Ok((
                    format!(
                        "{} models; {} transfers in progress",
                        models.as_object().map_or(0, |m| m.len()),
                        staged.len()
                    ),
                    Some(json!({"models": models, "staged": staged})),
                ))
            }
        }
    }

    /// A complete transfer: hashes, self-test, install, swap, probation.
    fn finish(&self, p: Progress) -> Result<(String, Option<Value>), String> {
        let name = p.release.name.clone();
        let version = p.release.version.clone();
        let manifest_path = self.staging.verified_manifest(&p)?;
        let mut loaded = ModelSet::default();
        if let Err(e) = load_from(&mut loaded, &manifest_path, &name, self.slot_batch) {
            self.staging.discard(&name);
            return Err(format!(
                "{name} {version} failed its self-test on this device and was discarded (the current model keeps serving): {e}"
            ));
        }
        let mut changes = self.changes();
        self.staging.install(&p)?;
        let root = self.staging.root();
        let mut active = update::read_active(root).unwrap_or_default();
        let previous = active.0.get(&name).map(|a| a.version.clone());
        active.0.insert(
            name.clone(),
            ActiveModel {
                version: version.clone(),
                previous: previous.clone(),
            },
        );
        update::write_active(root, &active)?;
        let before = self.current().unwrap_or_default();
        let fallback_desc = match (&previous, before.version(&name)) {
            (Some(p), _) => format!("{name} {p} (installed)"),
            (None, Some(v)) => format!("{name} {v} (packaged)"),
            (None, None) => "no model".to_string(),
        };
        self.swap(Arc::new(before.with_model_from(&loaded, &name)));
        changes.probation.retain(|(n, _)| *n != name);
        changes.probation.push((
            name.clone(),
            Probation {
                version: version.clone(),
                started: Instant::now(),
                runs: 0,
                failures: 0,
                last_error: String::new(),
                fallback: before,
                fallback_desc: fallback_desc.clone(),
            },
        ));
        self.retire(&changes, &name);
        changes.status.insert(
            name.clone(),
            json!({"version": version, "state": "probation", "source": "headquarters"}),
        );
        self.publish(&changes, false);
        let diff = match name.as_str() {
            "slotnet" => loaded.slotnet.as_ref().map(|m| m.engine().vector_max_diff),
            "forecaster" => loaded
                .forecaster
                .as_ref()
                .map(|m| m.engine().vector_max_diff),
            "recommender" => loaded
                .recommender
                .as_ref()
                .map(|m| m.engine().vector_max_diff),
            _ => loaded
                .text_encoder
                .as_ref()
                .map(|m| m.engine().vector_max_diff),
        };
        drop(changes);
        drop(loaded);
        release_freed_memory();
        log::info!("models: {name} {version} installed and serving; it replaces {fallback_desc}");
        Ok((
            format!(
                "{name} {version} installed and serving (signature and sha256 ok, test vector max diff {:.1e} on this device); it replaces {fallback_desc} and is rolled back by itself if {PROBATION_FAILURES} of its first {PROBATION_RUNS} runs fail",
                diff.unwrap_or(0.0)
            ),
            None,
        ))
    }

    /// Serves the model before the current update of `name` again.
    fn rollback(&self, name: &str) -> Result<String, String> {
        if !edge_models::set::KNOWN.contains(&name) {
            return Err(format!("model {name:?} is not one this build serves"));
        }
        let mut changes = self.changes();
        let root = self.staging.root().to_path_buf();
        let active = update::read_active(&root)?;
        let Some(a) = active.0.get(name) else {
            return Err(format!(
                "{name} serves the packaged model: there is nothing to roll back"
            ));
        };
        let bad = a.version.clone();
        // During probation the previous model is still in memory.
        if let Some(ix) = changes.probation.iter().position(|(n, _)| n == name) {
            let (_, p) = changes.probation.remove(ix);
            self.roll_back_to(
                &mut changes,
                name,
                &p.fallback,
                &bad,
                "rolled back by headquarters",
            );
            return Ok(format!(
                "{name} {bad} rolled back: {} serves",
                p.fallback_desc
            ));
        }
        let mut target = ModelSet::default();
        let (manifest, desc) = match &a.previous {
            Some(p) => (
                update::installed_dir(&root, name, p).join("manifest.toml"),
                format!("{name} {p} (installed)"),
            ),
            None => (self.packaged.clone(), format!("the packaged {name}")),
        };
        load_from(&mut target, &manifest, name, self.slot_batch).map_err(|e| {
            format!(
                "cannot roll back to {desc}: it does not load ({e}); {name} {bad} keeps serving"
            )
        })?;
        self.roll_back_to(
            &mut changes,
            name,
            &target,
            &bad,
            "rolled back by headquarters",
        );
        Ok(format!("{name} {bad} rolled back: {desc} serves"))
    }

    /// The version of `name` that is being replaced no longer serves (`edge_model_ready` 0).
    fn retire(&self, changes: &Changes, name: &str) {
        if let Some(v) = changes.status.get(name).and_then(|s| s["version"].as_str()) {
            let labels = ModelLabels {
                model: name.to_string(),
                version: v.to_string(),
            };
            self.metrics.model_ready.get_or_create(&labels).set(0);
        }
    }

    /// Pushes the status to the health message and the metrics.
    fn publish(&self, changes: &Changes, rolled_back: bool) {
        let mut failed = false;
        for (name, s) in &changes.status {
            let ready = s["state"] != "failed";
            failed |= !ready;
            let labels = ModelLabels {
                model: name.clone(),
                version: s["version"].as_str().unwrap_or_default().to_string(),
            };
            self.metrics
                .model_ready
                .get_or_create(&labels)
                .set(i64::from(ready));
        }
        self.metrics.set_fault("models_unavailable", failed);
        self.metrics.set_fault("model_rolled_back", rolled_back);
        self.status.set(changes.status.clone());
    }
}

/// Loads `name` from the manifest at `path` into `set`.
fn load_from(set: &mut ModelSet, path: &Path, name: &str, batch: usize) -> Result<f64, String> {
    let manifest = Manifest::load(path).map_err(|e| e.to_string())?;
    set.load_one(&manifest, name, batch)
}

/// Loading parses the ONNX files, builds and drops intermediate graphs and runs the test
/// vectors: tens of MB that glibc keeps in its arenas after they are freed. Hand them back so
/// the resident size shows what the models really hold.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only returns free heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine as _;
    use ed25519_dalek::SigningKey;

    fn repo_manifest() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/manifest.toml")
    }

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[9; 32])
    }

    fn hub(state: &Path) -> ModelHub {
        let settings = HubSettings {
            packaged: repo_manifest(),
            state_dir: state.to_path_buf(),
            keys: vec![B64.encode(key().verifying_key().to_bytes())],
            max_bytes: 64 << 20,
            slot_batch: 24,
        };
        let metrics = Arc::new(Metrics::new("redb"));
        ModelHub::new(settings, metrics, ModelStatus::default()).unwrap()
    }

    /// A signed release of the repository's `name` under another `version` (same files).
    fn release(name: &str, version: &str) -> (tempfile::TempDir, String, String) {
        let src = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(repo_manifest()).unwrap();
        let mut table: toml::Table = toml::from_str(&text).unwrap();
        let models = table["model"].as_array_mut().unwrap();
        models.retain(|m| m["name"].as_str() == Some(name));
        models[0]
            .as_table_mut()
            .unwrap()
            .insert("version".into(), toml::Value::String(version.into()));
        let copy = src.path().join("models");
        std::fs::create_dir_all(&copy).unwrap();
        let manifest = copy.join("manifest.toml");
        std::fs::write(&manifest, toml::to_string(&table).unwrap()).unwrap();
        let repo = repo_manifest().parent().unwrap().to_path_buf();
        for sub in ["onnx", "vectors", "cards"] {
            std::fs::create_dir_all(copy.join(sub)).unwrap();
            for e in std::fs::read_dir(repo.join(sub)).unwrap().flatten() {
                let file = e.file_name().to_string_lossy().to_string();
                if file.starts_with(name) {
                    std::fs::copy(e.path(), copy.join(sub).join(&file)).unwrap();
                }
            }
        }
        let out = src.path().join("release");
        super::super::release::Release::build(&manifest, name, &key(), &out).unwrap();
        let text = std::fs::read_to_string(out.join("release.toml")).unwrap();
        let sig = std::fs::read_to_string(out.join("release.sig")).unwrap();
        (src, text, sig)
    }

    /// Offers and sends every file in one chunk; the last answer.
    fn push(hub: &ModelHub, src: &Path, text: &str, sig: &str) -> Result<String, String> {
        let r = super::super::release::Release::parse(text).unwrap();
        let (mut reason, _) =
            hub.command(json!({"op": "offer", "release": text, "signature": sig}))?;
        for f in &r.files {
            let bytes = std::fs::read(src.join("release").join(&f.path)).unwrap();
            reason = hub
                .command(json!({"op": "chunk", "name": r.name, "version": r.version,
                                "path": f.path, "offset": 0, "data": B64.encode(bytes)}))?
                .0;
        }
        Ok(reason)
    }

    fn serving(hub: &ModelHub, name: &str) -> String {
        hub.current()
            .unwrap()
            .version(name)
            .unwrap_or_default()
            .to_string()
    }

    #[test]
    fn an_update_serves_on_probation_and_is_rolled_back_when_its_runs_fail() {
        let state = tempfile::tempdir().unwrap();
        let hub = hub(state.path());
        assert!(matches!(hub.slotnet(), Lookup::Loading));
        hub.load();
        let packaged = serving(&hub, "forecaster");
        let before = hub.current().unwrap();
        let (src, text, sig) = release("forecaster", "7.0.0");
        let done = push(&hub, src.path(), &text, &sig).unwrap();
        assert!(done.contains("installed and serving"), "{done}");
        assert_eq!(serving(&hub, "forecaster"), "7.0.0");
        // The other models are shared with the set before, not reloaded.
        let now = hub.current().unwrap();
        assert!(Arc::ptr_eq(
            now.recommender.as_ref().unwrap(),
            before.recommender.as_ref().unwrap()
        ));
        assert_eq!(hub.status.json()["forecaster"]["state"], "probation");
        let active = update::read_active(&update::root(state.path())).unwrap();
        assert_eq!(active.0["forecaster"].version, "7.0.0");
        // Offering what serves is refused.
        let again = hub
            .command(json!({"op": "offer", "release": text, "signature": sig}))
            .unwrap_err();
        assert!(again.contains("already serving"), "{again}");

        // Failed runs during probation roll it back, in memory and on disk.
        for _ in 0..PROBATION_FAILURES - 1 {
            hub.report("forecaster", Err("output holds a non-finite value"));
            assert_eq!(serving(&hub, "forecaster"), "7.0.0");
        }
        hub.report("forecaster", Err("output holds a non-finite value"));
        assert_eq!(serving(&hub, "forecaster"), packaged);
        let status = hub.status.json();
        assert_eq!(status["forecaster"]["source"], "packaged", "{status}");
        assert!(status["forecaster"]["rolled_back"]
            .as_str()
            .unwrap()
            .contains("non-finite"));
        let active = update::read_active(&update::root(state.path())).unwrap();
        assert!(!active.0.contains_key("forecaster"));
        assert!(
            !update::installed_dir(&update::root(state.path()), "forecaster", "7.0.0").exists()
        );
    }

    #[test]
    fn an_update_that_passes_probation_survives_a_restart_and_can_be_rolled_back() {
        let state = tempfile::tempdir().unwrap();
        let hub1 = hub(state.path());
        hub1.load();
        let packaged = serving(&hub1, "forecaster");
        let (src, text, sig) = release("forecaster", "7.1.0");
        push(&hub1, src.path(), &text, &sig).unwrap();
        for _ in 0..PROBATION_RUNS {
            hub1.report("forecaster", Ok(()));
        }
        assert_eq!(hub1.status.json()["forecaster"]["state"], "ready");
        // Failures after probation do not roll back.
        for _ in 0..PROBATION_FAILURES {
            hub1.report("forecaster", Err("x"));
        }
        assert_eq!(serving(&hub1, "forecaster"), "7.1.0");
        // A second update keeps the first as the one to roll back to.
        let (src2, text2, sig2) = release("forecaster", "7.2.0");
        push(&hub1, src2.path(), &text2, &sig2).unwrap();
        drop(hub1);

        // A restart serves the installed update.
        let hub2 = hub(state.path());
        hub2.load();
        assert_eq!(serving(&hub2, "forecaster"), "7.2.0");
        assert_eq!(hub2.status.json()["forecaster"]["source"], "headquarters");
        // Rolled back by headquarters: the previous installed version, then the packaged one.
        let r = hub2
            .command(json!({"op": "rollback", "name": "forecaster"}))
            .unwrap();
        assert!(r.0.contains("7.1.0"), "{r:?}");
        assert_eq!(serving(&hub2, "forecaster"), "7.1.0");
        hub2.command(json!({"op": "rollback", "name": "forecaster"}))
            .unwrap();
        assert_eq!(serving(&hub2, "forecaster"), packaged);
        let e = hub2
            .command(json!({"op": "rollback", "name": "forecaster"}))
            .unwrap_err();
        assert!(e.contains("nothing to roll back"), "{e}");
        assert!(hub2
            .command(json!({"op": "rollback", "name": "firmware"}))
            .is_err());
        let (reason, detail) = hub2.command(json!({"op": "status"})).unwrap();
        assert!(reason.contains("models"), "{reason}");
        assert_eq!(
            detail.unwrap()["models"]["forecaster"]["version"],
            packaged.as_str()
        );
    }

    #[test]
    fn an_installed_model_damaged_on_disk_is_rolled_back_at_start() {
        let state = tempfile::tempdir().unwrap();
        let hub1 = hub(state.path());
        hub1.load();
        let packaged = serving(&hub1, "recommender");
        let (src, text, sig) = release("recommender", "5.0.0");
        push(&hub1, src.path(), &text, &sig).unwrap();
        drop(hub1);
        let dir = update::installed_dir(&update::root(state.path()), "recommender", "5.0.0");
        let file = dir.join("onnx/recommender.int8.onnx");
        let mut bytes = std::fs::read(&file).unwrap();
        bytes.truncate(bytes.len() / 2);
        std::fs::write(&file, bytes).unwrap();
        let hub2 = hub(state.path());
        hub2.load();
        assert_eq!(serving(&hub2, "recommender"), packaged);
        let status = hub2.status.json();
        assert!(
            status["recommender"]["rolled_back"]
                .as_str()
                .unwrap()
                .contains("5.0.0"),
            "{status}"
        );
        assert!(!update::read_active(&update::root(state.path()))
            .unwrap()
            .0
            .contains_key("recommender"));
        assert_eq!(hub2.metrics.fault_active("model_rolled_back"), Some(true));
    }

    #[test]
    fn an_update_that_fails_its_self_test_is_discarded_and_the_old_model_keeps_serving() {
        let state = tempfile::tempdir().unwrap();
        let hub = hub(state.path());
        hub.load();
        let packaged = serving(&hub, "forecaster");
        let (src, _, _) = release("forecaster", "8.0.0");
        // The same model, but its test vector expects other outputs: it fails on the device.
        let vector = src.path().join("models/vectors/forecaster.json");
        let mut v: Value = serde_json::from_slice(&std::fs::read(&vector).unwrap()).unwrap();
        let shifted = shift_numbers(&v["outputs"]);
        v["outputs"] = shifted;
        std::fs::write(&vector, serde_json::to_vec(&v).unwrap()).unwrap();
        let out = src.path().join("release");
        std::fs::remove_dir_all(&out).unwrap();
        super::super::release::Release::build(
            &src.path().join("models/manifest.toml"),
            "forecaster",
            &key(),
            &out,
        )
        .unwrap();
        let text = std::fs::read_to_string(out.join("release.toml")).unwrap();
        let sig = std::fs::read_to_string(out.join("release.sig")).unwrap();
        let err = push(&hub, src.path(), &text, &sig).unwrap_err();
        assert!(
            err.contains("failed its self-test") && err.contains("test vector"),
            "{err}"
        );
        assert_eq!(serving(&hub, "forecaster"), packaged);
        assert!(update::read_active(&update::root(state.path()))
            .unwrap()
            .0
            .is_empty());
        assert!(!update::root(state.path())
            .join("staged/forecaster")
            .exists());
        // Garbage commands are refused.
        for bad in [
            json!({}),
            json!({"op": "format"}),
            json!({"op": "offer"}),
            json!({"op": "status", "x": 1}),
            json!("offer"),
        ] {
            assert!(hub.command(bad.clone()).is_err(), "{bad}");
        }
    }

    fn shift_numbers(v: &Value) -> Value {
        match v {
            Value::Number(n) => json!(n.as_f64().unwrap_or(0.0) + 1.0),
            Value::Array(a) => Value::Array(a.iter().map(shift_numbers).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), shift_numbers(x)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}
