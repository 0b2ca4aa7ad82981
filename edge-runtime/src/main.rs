//! The `edge-runtime` command line. Exit codes: 0 ok, 1 runtime failure, 2 bad config or usage.

use clap::{Parser, Subcommand, ValueEnum};
use edge_runtime::config::{self, Config, StoreBackendKind};
use edge_runtime::metrics::BUILD;
use edge_runtime::{app, logging};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

const EXIT_RUNTIME: u8 = 1;
const EXIT_CONFIG: u8 = 2;

#[derive(Parser)]
#[command(
    name = "edge-runtime",
    version,
    about = "In-store daemon: live shelf stock, demand forecasts, kiosk and headquarters sync",
    after_help = "Exit codes: 0 ok, 1 runtime failure, 2 bad config or usage.\n\
                  Config: --config, else $EDGE_RUNTIME_CONFIG, else /etc/edge-runtime/config.toml."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon (what the systemd unit starts).
    Run {
        /// Config file [default: $EDGE_RUNTIME_CONFIG or /etc/edge-runtime/config.toml]
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Run on built-in defaults with a temporary state directory; Ctrl-C stops it.
    Demo {
        /// HTTP address; a free port is taken if this one is busy.
        #[arg(long, default_value = "127.0.0.1:8080")]
        http: SocketAddr,
        /// Keep state here instead of a temporary directory.
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// Send to this MQTT broker (HOST:PORT) instead of starting an embedded one.
        #[arg(long)]
        broker: Option<String>,
        /// Simulated store seconds per second (the shelf runs a store day in 24 minutes at 30).
        #[arg(long, default_value_t = 30.0)]
        speed: f64,
    },
    /// Check a config file and report every problem with line and column.
    CheckConfig {
        /// Config file [default: $EDGE_RUNTIME_CONFIG or /etc/edge-runtime/config.toml]
        path: Option<PathBuf>,
    },
    /// Print a config file.
    PrintConfig {
        /// Print the commented default config (the only form for now).
        #[arg(long, required = true)]
        default: bool,
    },
    /// Print version, git revision and target triple.
    Version,
    /// Installer tools: find cameras and take a picture to draw the slot polygons on.
    #[command(subcommand)]
    Camera(CameraCommand),
    /// Check and describe the models (hash, tract load, test vector on this device).
    #[command(subcommand)]
    Model(ModelCommand),
    /// Installer tools for the planogram: check a file, or start from the demo.
    #[command(subcommand)]
    Planogram(PlanogramCommand),
    /// Measure the product on simulated stores with known ground truth.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Tools for the project's own tests.
    #[command(hide = true, subcommand)]
    Internal(Internal),
}

#[derive(Subcommand)]
enum CameraCommand {
    /// List the V4L2 cameras this device has (and whether this build can open them).
    List,
    /// Save one picture from a camera as JPEG.
    Snapshot {
        /// /dev/videoN, a snapshot file a network camera rewrites, or a folder it drops pictures into
        #[arg(long)]
        camera: String,
        /// Output JPEG file
        #[arg(long, default_value = "shelf.jpg")]
        out: PathBuf,
        /// Seconds to wait for a picture
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Verify every model of the manifest: sha256, load, optimise, test vector. Exit 1 if any fails.
    Verify {
        /// Manifest [default: $EDGE_RUNTIME_MODELS, paths.models of the config, the packaged one]
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Config file whose paths.models to use
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Describe one model: files, tensors, preprocessing, operators of the optimised plan.
    Info {
        /// slotnet, forecaster, recommender or text_encoder
        name: String,
        /// Manifest [default: as for verify]
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Config file whose paths.models to use
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Headquarters: make an ed25519 key pair for signing model releases. Writes the secret key
    /// (owner-only) and prints the public key for the devices' [model_updates] keys.
    Keygen {
        /// Secret key file to create (never overwritten)
        #[arg(long)]
        out: PathBuf,
    },
    /// Headquarters: package one model of a manifest as a signed release directory (its files,
    /// release.toml, release.sig) for `model push`.
    Release {
        /// slotnet, forecaster, recommender or text_encoder
        name: String,
        /// Secret key file (`model keygen`)
        #[arg(long)]
        key: PathBuf,
        /// Release directory to create
        #[arg(long)]
        out: PathBuf,
        /// Manifest holding the model [default: as for verify]
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
    /// Headquarters: send a release to one device over MQTT (cmd/model) and wait for it to be
    /// installed. Safe to run again after an interruption: the transfer resumes.
    Push {
        /// Release directory (`model release --out`)
        release: PathBuf,
        /// Store id of the device
        #[arg(long)]
        store: String,
        /// Device id
        #[arg(long)]
        device: String,
        /// Broker host
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Broker port
        #[arg(long, default_value_t = 1883)]
        port: u16,
        /// Broker user name (with --password-file)
        #[arg(long, requires = "password_file")]
        username: Option<String>,
        /// File holding the broker password
        #[arg(long, requires = "username")]
        password_file: Option<PathBuf>,
        /// CA certificate (PEM) of the broker: connect over TLS
        #[arg(long)]
        ca_file: Option<PathBuf>,
        /// Client certificate (PEM) for mutual TLS (with --client-key)
        #[arg(long, requires_all = ["client_key", "ca_file"])]
        client_cert: Option<PathBuf>,
        /// Client private key (PEM) for mutual TLS
        #[arg(long, requires = "client_cert")]
        client_key: Option<PathBuf>,
        /// KiB of file per chunk; keep chunks under the device's mqtt.max_command_bytes (base64
        /// adds a third)
        #[arg(long, default_value_t = 512)]
        chunk_kib: usize,
        /// Seconds to wait for each answer of the device
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Replay simulated store scenarios through the stock pipeline (rendered frames, slotnet,
    /// tracker) and print units MAE, out-of-stock recall and precision, delay and false events.
    Stock {
        /// Scenario set: `tuning` (the settings were chosen on it) or `reporting` (held out).
        #[arg(long, value_enum, default_value = "reporting")]
        set: edge_runtime::stock::eval::ScenarioSet,
        /// Only the scenario with this name.
        #[arg(long)]
        scenario: Option<String>,
        /// Seconds of simulated time between camera frames.
        #[arg(long, default_value_t = 5.0)]
        frame_secs: f64,
        /// Simulated hours per scenario instead of each scenario's own length.
        #[arg(long)]
        hours: Option<f64>,
        /// Model manifest [default: as `model verify`].
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Write every slot reading with its ground truth to this CSV file.
        #[arg(long)]
        trace: Option<PathBuf>,
        /// Evaluate this planogram instead of the bundled demo one (its products must be in
        /// the catalog; pack colours and shapes come from the catalog's `attributes.pack`).
        #[arg(long)]
        planogram: Option<PathBuf>,
        /// Catalog for `--planogram` [default: the bundled demo catalog].
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// Camera of the planogram to simulate [default: its first].
        #[arg(long)]
        camera: Option<String>,
    },
}

#[derive(Subcommand)]
enum PlanogramCommand {
    /// Check a planogram and report every problem with line and column.
    /// Exit 0 ok, 2 problems found, 1 planogram or catalog unusable.
    Check {
        /// Planogram file [default: paths.planogram of the config]
        path: Option<PathBuf>,
        /// Catalog (JSON) whose SKUs and unit weights to check against [default: paths.catalog
        /// of the config, if set]
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// Config file [default: $EDGE_RUNTIME_CONFIG or /etc/edge-runtime/config.toml]
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print the bundled demo planogram, a commented starting point for a store's own.
    Demo,
}

#[derive(Subcommand)]
enum Internal {
    /// Commit record batches until SIGTERM, printing each durable commit (crash tests).
    StoreWriter {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, value_enum)]
        backend: Backend,
        #[arg(long, default_value_t = 16)]
        max_batch: u64,
    },
    /// Send numbered messages through the outbox and MQTT link (MQTT reliability tests).
    OutboxFeeder {
        #[arg(long)]
        config: PathBuf,
        #[arg(long, default_value_t = 0)]
        start: u64,
        #[arg(long)]
        count: u64,
        #[arg(long, default_value_t = 0)]
        interval_ms: u64,
        /// Spread messages over the three classes, each padded by this many bytes.
        #[arg(long)]
        mixed: Option<usize>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Backend {
    Redb,
    Sled,
}

impl From<Backend> for StoreBackendKind {
    fn from(b: Backend) -> Self {
        match b {
            Backend::Redb => StoreBackendKind::Redb,
            Backend::Sled => StoreBackendKind::Sled,
        }
    }
}

/// Prints a line to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{text}");
}

/// Prints a line to stderr; as for [`say`], a closed pipe is not worth a panic.
fn complain(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn config_path(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(|| std::env::var_os(config::CONFIG_ENV).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_CONFIG_PATH))
}

/// The model manifest for `model` subcommands; a config is read only when one is named.
fn models_manifest(
    manifest: Option<PathBuf>,
    config: Option<PathBuf>,
) -> Result<PathBuf, ExitCode> {
    let config = match config {
        Some(path) => match Config::load(&path) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("{e}");
                return Err(ExitCode::from(EXIT_CONFIG));
            }
        },
        None => None,
    };
    Ok(edge_runtime::models::manifest_path(
        manifest,
        config.as_ref(),
    ))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => {
            let path = config_path(config);
            match Config::load(&path) {
                Ok(config) => {
                    logging::init(config.logging.level.filter());
                    run_daemon(config, app::RunOptions::default())
                }
                Err(e) => {
                    eprintln!("{e}");
                    eprintln!("edge-runtime: refusing to start with a bad config");
                    ExitCode::from(EXIT_CONFIG)
                }
            }
        }
        Command::Demo {
            http,
            state_dir,
            broker,
            speed,
        } => demo(http, state_dir, broker, speed),
        Command::CheckConfig { path } => {
            let path = config_path(path);
            match Config::load(&path) {
                Ok(_) => {
                    say(&format!("{}: ok", path.display()));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(EXIT_CONFIG)
                }
            }
        }
        Command::PrintConfig { default: _ } => {
            say(config::DEFAULT_TOML.trim_end());
            ExitCode::SUCCESS
        }
        Command::Camera(CameraCommand::List) => {
            let cameras = edge_sensors::list_cameras();
            if cameras.is_empty() {
                say("no V4L2 cameras found (/dev/video*)");
            }
            for c in cameras {
                let note = c.note.map(|n| format!(" ({n})")).unwrap_or_default();
                let state = if c.supported { "ok" } else { "cannot open" };
                say(&format!("{}  {}  {state}{note}", c.id, c.name));
            }
            ExitCode::SUCCESS
        }
        Command::Camera(CameraCommand::Snapshot {
            camera,
            out,
            timeout,
        }) => {
            let taken =
                edge_sensors::camera::source_for(&camera, Default::default()).and_then(|source| {
                    edge_sensors::snapshot_bounded(source, std::time::Duration::from_secs(timeout))
                });
            match taken.and_then(|frame| frame.save_jpeg(&out).map(|()| frame)) {
                Ok(frame) => {
                    say(&format!(
                        "{}: {}x{} from {camera}",
                        out.display(),
                        frame.width,
                        frame.height
                    ));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("edge-runtime: camera {camera}: {e}");
                    ExitCode::from(EXIT_RUNTIME)
                }
            }
        }
        Command::Eval(EvalCommand::Stock {
            set,
            scenario,
            frame_secs,
            hours,
            manifest,
            trace,
            planogram,
            catalog,
            camera,
        }) => eval_stock(
            set,
            scenario,
            frame_secs,
            hours,
            manifest,
            trace,
            EvalShelf {
                planogram,
                catalog,
                camera,
            },
        ),
        Command::Model(ModelCommand::Verify { manifest, config }) => {
            let path = match models_manifest(manifest, config) {
                Ok(p) => p,
                Err(code) => return code,
            };
            let (report, ok) = edge_runtime::models::verify(&path);
            say(report.trim_end());
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_RUNTIME)
            }
        }
        Command::Model(ModelCommand::Info {
            name,
            manifest,
            config,
        }) => {
            let path = match models_manifest(manifest, config) {
                Ok(p) => p,
                Err(code) => return code,
            };
            match edge_runtime::models::info(&path, &name) {
                Ok(report) => {
                    say(report.trim_end());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("edge-runtime: {e}");
                    ExitCode::from(EXIT_RUNTIME)
                }
            }
        }
        Command::Model(ModelCommand::Keygen { out }) => {
            match edge_runtime::models::release::generate_key(&out) {
                Ok(public) => {
                    say(&format!(
                        "secret key written to {} (keep it at headquarters)\npublic key for the devices' config:\n\n[model_updates]\nkeys = [\"{public}\"]",
                        out.display()
                    ));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("edge-runtime: {e}");
                    ExitCode::from(EXIT_RUNTIME)
                }
            }
        }
        Command::Model(ModelCommand::Release {
            name,
            key,
            out,
            manifest,
        }) => {
            let path = match models_manifest(manifest, None) {
                Ok(p) => p,
                Err(code) => return code,
            };
            let built = edge_runtime::models::release::signing_key(&key).and_then(|key| {
                std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
                edge_runtime::models::release::Release::build(&path, &name, &key, &out)
            });
            match built {
                Ok(r) => {
                    say(&format!(
                        "release {} {} in {}: {} files, {} bytes, signed",
                        r.name,
                        r.version,
                        out.display(),
                        r.files.len(),
                        r.total_bytes()
                    ));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("edge-runtime: {e}");
                    ExitCode::from(EXIT_RUNTIME)
                }
            }
        }
        Command::Model(ModelCommand::Push {
            release,
            store,
            device,
            host,
            port,
            username,
            password_file,
            ca_file,
            client_cert,
            client_key,
            chunk_kib,
            timeout,
        }) => {
            let args = edge_runtime::models::push::PushArgs {
                release,
                host,
                port,
                credentials: username.zip(password_file),
                ca_file,
                client: client_cert.zip(client_key),
                store,
                device,
                chunk_bytes: chunk_kib.clamp(1, 64 * 1024) * 1024,
                timeout: std::time::Duration::from_secs(timeout.max(1)),
            };
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|rt| rt.block_on(edge_runtime::models::push::push(args)));
            match result {
                Ok(done) => {
                    say(&done);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("edge-runtime: {e}");
                    ExitCode::from(EXIT_RUNTIME)
                }
            }
        }
        Command::Planogram(PlanogramCommand::Check {
            path,
            catalog,
            config,
        }) => check_planogram(path, catalog, config),
        Command::Planogram(PlanogramCommand::Demo) => {
            say(edge_runtime::stock::planogram::DEMO_TOML.trim_end());
            ExitCode::SUCCESS
        }
        Command::Version => {
            say(&format!(
                "edge-runtime {}\nrevision {}\ntarget {}",
                BUILD.version, BUILD.revision, BUILD.target
            ));
            ExitCode::SUCCESS
        }
        Command::Internal(Internal::StoreWriter {
            dir,
            backend,
            max_batch,
        }) => {
            let mut out = std::io::stdout().lock();
            match edge_runtime::torture::store_writer(&dir, backend.into(), max_batch, &mut out) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("store-writer: {e}");
                    ExitCode::from(EXIT_RUNTIME)
                }
            }
        }
        Command::Internal(Internal::OutboxFeeder {
            config,
            start,
            count,
            interval_ms,
            mixed,
        }) => {
            let config = match Config::load(&config) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            logging::init(config.logging.level.filter());
            let mut out = std::io::stdout();
            let interval = std::time::Duration::from_millis(interval_ms);
            match edge_runtime::torture::outbox_feeder(
                config, start, count, interval, mixed, &mut out,
            ) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("outbox-feeder: {e}");
                    ExitCode::from(EXIT_RUNTIME)
                }
            }
        }
    }
}

/// Which shelf `eval stock` simulates.
struct EvalShelf {
    planogram: Option<PathBuf>,
    catalog: Option<PathBuf>,
    camera: Option<String>,
}

impl EvalShelf {
    /// The camera (id, width, height) and its slots (camera index 0), or the exit code after
    /// saying what is wrong.
    fn resolve(
        &self,
    ) -> Result<
        (
            edge_runtime::catalog::Catalog,
            edge_runtime::stock::planogram::CameraPlan,
            Vec<edge_runtime::stock::SlotSpec>,
        ),
        ExitCode,
    > {
        use edge_runtime::stock::planogram::Planogram;
        let catalog = match &self.catalog {
            Some(path) => edge_runtime::catalog::load_file(path),
            None => edge_runtime::catalog::Catalog::demo(),
        }
        .map_err(|e| {
            eprintln!("{e}");
            ExitCode::from(EXIT_RUNTIME)
        })?;
        let planogram = match &self.planogram {
            Some(path) => Planogram::load(path, Some(&catalog)).map_err(|e| {
                eprintln!("{e}");
                ExitCode::from(EXIT_CONFIG)
            })?,
            None => Planogram::demo(),
        };
        let index = match &self.camera {
            None => 0,
            Some(id) => planogram
                .cameras
                .iter()
                .position(|c| &c.id == id)
                .ok_or_else(|| {
                    let ids: Vec<&str> = planogram.cameras.iter().map(|c| c.id.as_str()).collect();
                    eprintln!(
                        "no camera {id:?} in the planogram; it has {}",
                        ids.join(", ")
                    );
                    ExitCode::from(EXIT_CONFIG)
                })?,
        };
        let Some(camera) = planogram.cameras.get(index).cloned() else {
            eprintln!("the planogram has no camera");
            return Err(ExitCode::from(EXIT_CONFIG));
        };
        let slots: Vec<_> = planogram
            .slots(Some(&catalog))
            .into_iter()
            .filter(|s| s.camera == index)
            .map(|mut s| {
                s.camera = 0;
                s
            })
            .collect();
        if slots.is_empty() {
            eprintln!("camera {} has no slots to evaluate", camera.id);
            return Err(ExitCode::from(EXIT_CONFIG));
        }
        Ok((catalog, camera, slots))
    }
}

fn eval_stock(
    set: edge_runtime::stock::eval::ScenarioSet,
    only: Option<String>,
    frame_secs: f64,
    hours: Option<f64>,
    manifest: Option<PathBuf>,
    trace: Option<PathBuf>,
    shelf: EvalShelf,
) -> ExitCode {
    use edge_runtime::stock::eval;
    logging::init(log::LevelFilter::Warn);
    if !(frame_secs.is_finite() && frame_secs >= 0.5)
        || hours.is_some_and(|h| !(h > 0.0 && h <= 48.0))
    {
        eprintln!("--frame-secs must be at least 0.5 and --hours between 0 and 48");
        return ExitCode::from(EXIT_CONFIG);
    }
    let (catalog, camera, slots) = match shelf.resolve() {
        Ok(resolved) => resolved,
        Err(code) => return code,
    };
    let path = match models_manifest(manifest, None) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let slotnet = edge_models::Manifest::load(&path)
        .map_err(|e| e.to_string())
        .and_then(|m| edge_models::SlotNet::load(&m, 24).map_err(|e| e.to_string()));
    let slotnet = match slotnet {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot load slotnet: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    say(&format!(
        "camera {} of {}: {} slots, {} on scales",
        camera.id,
        shelf
            .planogram
            .as_ref()
            .map_or("the demo planogram".to_string(), |p| p
                .display()
                .to_string()),
        slots.len(),
        slots.iter().filter(|s| s.scale.is_some()).count()
    ));
    if let Some(path) = &trace {
        if let Err(e) = std::fs::write(path, b"") {
            eprintln!("cannot write the trace {}: {e}", path.display());
            return ExitCode::from(EXIT_RUNTIME);
        }
    }
    let options = eval::EvalOptions {
        frame_secs,
        hours,
        trace,
    };
    let scenarios: Vec<_> = eval::scenarios(set)
        .into_iter()
        .filter(|s| only.as_ref().is_none_or(|n| &s.name == n))
        .collect();
    if scenarios.is_empty() {
        eprintln!(
            "no scenario named {:?} in this set",
            only.unwrap_or_default()
        );
        return ExitCode::from(EXIT_CONFIG);
    }
    let mut results = Vec::new();
    for scenario in &scenarios {
        say(&format!("running {} ...", scenario.name));
        match eval::run_scenario(
            &slotnet,
            &slots,
            &catalog,
            (&camera.id, camera.width, camera.height),
            scenario,
            &options,
            &edge_runtime::stock::tracker::TrackerSettings::default(),
        ) {
            Ok(r) => results.push(r),
            Err(e) => {
                eprintln!("scenario {}: {e}", scenario.name);
                return ExitCode::from(EXIT_RUNTIME);
            }
        }
    }
    say(eval::report(&results).trim_end());
    ExitCode::SUCCESS
}

/// The demo's shelf: the bundled planogram and catalog, and a simulated store at 30x speed.
fn demo_stock(speed: f64) -> Result<app::SimulatedStock, String> {
    if !(speed.is_finite() && (1.0..=3600.0).contains(&speed)) {
        return Err(format!("--speed {speed}: must be between 1 and 3600"));
    }
    let catalog = edge_runtime::catalog::Catalog::demo()?;
    Ok(app::SimulatedStock {
        planogram: edge_runtime::stock::planogram::Planogram::demo(),
        catalog,
        simulation: edge_runtime::stock::service::Simulation {
            speed,
            fps: 2.0,
            seed: 7,
            params: edge_sensors::sim::store::ScenarioParams::demo(),
        },
    })
}

/// `planogram check`: the planogram and catalog named on the command line, else the config's.
fn check_planogram(
    path: Option<PathBuf>,
    catalog: Option<PathBuf>,
    config: Option<PathBuf>,
) -> ExitCode {
    use edge_runtime::stock::planogram::{Planogram, PlanogramError};

    // The config is read when it is named, or when it has to supply a path; a default config
    // that is not there does not matter when both files are named or only the catalog is
    // missing.
    let explicit = config.is_some();
    let config_file = config_path(config);
    let config = if explicit || path.is_none() || (catalog.is_none() && config_file.exists()) {
        match Config::load(&config_file) {
            Ok(c) => Some(c),
            Err(e) => {
                complain(&e.to_string());
                return ExitCode::from(EXIT_CONFIG);
            }
        }
    } else {
        None
    };
    let from_config = |pick: fn(&Config) -> Option<PathBuf>| config.as_ref().and_then(pick);
    let Some(path) = path.or_else(|| from_config(|c| c.paths.planogram.clone())) else {
        complain(&format!(
            "edge-runtime: no planogram to check: pass PATH, or set paths.planogram in {}",
            config_file.display()
        ));
        return ExitCode::from(EXIT_CONFIG);
    };
    let catalog_path = catalog.or_else(|| from_config(|c| c.paths.catalog.clone()));
    let catalog = match &catalog_path {
        Some(file) => {
            let loaded = edge_runtime::catalog::load_file(file);
            match loaded {
                Ok(c) => Some(c),
                Err(e) => {
                    complain(&format!(
                        "edge-runtime: cannot use catalog {}: {e}",
                        file.display()
                    ));
                    return ExitCode::from(EXIT_RUNTIME);
                }
            }
        }
        None => {
            complain(
                "note: no catalog (--catalog or paths.catalog): SKUs and catalog unit weights \
                 are not checked",
            );
            None
        }
    };
    match Planogram::load(&path, catalog.as_ref()) {
        Ok(planogram) => {
            let slots = planogram.slots(catalog.as_ref());
            let on_scales = slots.iter().filter(|s| s.scale.is_some()).count();
            say(&format!(
                "planogram OK: {} cameras, {} slots, {on_scales} on scales",
                planogram.cameras.len(),
                slots.len()
            ));
            ExitCode::SUCCESS
        }
        Err(e @ PlanogramError::Unreadable { .. }) => {
            complain(&e.to_string());
            ExitCode::from(EXIT_RUNTIME)
        }
        Err(e) => {
            complain(&e.to_string());
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

fn demo(
    http: SocketAddr,
    state_dir: Option<PathBuf>,
    broker: Option<String>,
    speed: f64,
) -> ExitCode {
    logging::init(log::LevelFilter::Info);
    let (host, port) = match broker {
        Some(b) => match b
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        {
            Some(hp) => hp,
            None => {
                eprintln!("--broker must be HOST:PORT, e.g. 127.0.0.1:1883");
                return ExitCode::from(EXIT_CONFIG);
            }
        },
        None => {
            let started = edge_runtime::demo::free_local_addr()
                .and_then(|addr| edge_runtime::demo::start_embedded_broker(addr).map(|_| addr));
            match started {
                Ok(addr) => ("127.0.0.1".to_string(), addr.port()),
                Err(e) => {
                    eprintln!("edge-runtime demo: {e}");
                    return ExitCode::from(EXIT_RUNTIME);
                }
            }
        }
    };
    let (dir, temporary) = match state_dir {
        Some(d) => (d, false),
        None => (
            std::env::temp_dir().join(format!("edge-runtime-demo-{}", std::process::id())),
            true,
        ),
    };
    let mut config = Config::demo(&dir);
    config.http.bind = http;
    config.mqtt.host = host.clone();
    config.mqtt.port = port;
    config.mqtt.health_interval_secs = 5;
    // Announcements ignore a closed stdout instead of panicking.
    let say = |line: String| {
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), "{line}");
    };
    say(format!(
        "edge-runtime demo: built-in config, state in {}",
        dir.display()
    ));
    say(format!(
        "  mqtt:     {host}:{port} (headquarters stand-in); watch the messages with"
    ));
    say(format!(
        "            mosquitto_sub -h {host} -p {port} -t 'retail/v1/#' -v"
    ));
    say(format!(
        "            or: hq-consumer --host {host} --port {port}"
    ));
    let simulated_stock = match demo_stock(speed) {
        Ok(stock) => Some(stock),
        Err(e) => {
            eprintln!("edge-runtime demo: no simulated shelf: {e}");
            None
        }
    };
    let options = app::RunOptions {
        announce: true,
        http_any_port: true,
        simulated_stock,
    };
    let code = run_daemon(config, options);
    if temporary {
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            log::warn!("could not remove {}: {e}", dir.display());
        }
    }
    code
}

fn run_daemon(config: Config, options: app::RunOptions) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("edge-runtime")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log::error!("cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    match runtime.block_on(app::run(config, options)) {
        Ok(()) => {
            log::info!("stopped cleanly");
            ExitCode::SUCCESS
        }
        Err(e) => {
            log::error!("{e}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}
