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
        } => demo(http, state_dir, broker),
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
            match edge_runtime::torture::outbox_feeder(config, start, count, interval, &mut out) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("outbox-feeder: {e}");
                    ExitCode::from(EXIT_RUNTIME)
                }
            }
        }
    }
}

fn demo(http: SocketAddr, state_dir: Option<PathBuf>, broker: Option<String>) -> ExitCode {
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
    let options = app::RunOptions {
        announce: true,
        http_any_port: true,
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
