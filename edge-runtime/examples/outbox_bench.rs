//! Outbox benchmark: durable enqueue rate (one producer, 8 concurrent producers, batches of 64)
//! against the raw store's fsync floor measured in the same run; drain rate of the MQTT link to
//! a local mosquitto against `mosquitto_pub` on the same broker in the same run; and process
//! RSS and disk size with 1 million queued messages (the queue lives on disk, not in memory).
//!
//! Run: `cargo run --release -p edge-runtime --example outbox_bench [DIR]`. DIR defaults to
//! `target/outbox-bench`; put it on the device's real storage (a tmpfs makes fsync free).
//! `OUTBOX_BENCH_QUEUED=N` sets the message count of part 3 (default 1000000). Part 2 starts
//! `mosquitto` (PATH or /usr/sbin) on a free 127.0.0.1 port and uses `mosquitto_pub` and
//! `mosquitto_sub`; the broker, its temporary directory and the stores under DIR are removed
//! on exit, on error and on Ctrl-C.

use anyhow::{anyhow, bail, Context, Result};
use edge_runtime::config::{Config, StoreBackendKind, StoreSettings};
use edge_runtime::shutdown::Shutdown;
use edge_runtime::store::{Batch, Store};
use edge_runtime::sync::link::{self, LinkStatus};
use edge_runtime::sync::{self, Class, Enqueued, Outbox, OutboxSettings, Outgoing};
use std::io::{BufWriter, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// JSON size of every message body (the envelope fields come on top).
const BODY_BYTES: usize = 200;
/// Time spent on each enqueue figure in each round.
const BUDGET: Duration = Duration::from_secs(1);
/// Interleaved rounds of part 1; the table shows medians.
const ROUNDS: usize = 5;
/// Rounds of part 2; the table shows medians.
const DRAIN_ROUNDS: usize = 3;
/// Concurrent producers of case (b).
const PRODUCERS: usize = 8;
/// Messages per enqueue call in case (c).
const BATCH: usize = 64;
/// Messages drained to the broker per sender in part 2.
const DRAIN_N: usize = 20_000;
/// The link's default window (config `mqtt.inflight`) and a wide one for comparison.
const WINDOWS: [u16; 2] = [32, 256];
/// Longest a drain may take before the bench gives up.
const DRAIN_LIMIT: Duration = Duration::from_secs(300);
const STORE_ID: &str = "bench";
const DEVICE_ID: &str = "dev";
const TOPIC: &str = "x";
const SYS_RECEIVED: &str = "$SYS/broker/publish/messages/received";
const MIB: f64 = 1024.0 * 1024.0;
const GIB: u64 = 1 << 30;

// ---------------------------------------------------------------------------------------------
// Cleanup: guards remove what they own on return and on error; the signal thread uses this
// registry to do the same on Ctrl-C / SIGTERM, and children die with us (PR_SET_PDEATHSIG).

struct Registry {
    pids: Vec<u32>,
    /// Removed with their contents.
    dirs: Vec<PathBuf>,
    /// Removed only if empty (DIR itself).
    roots: Vec<PathBuf>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    pids: Vec::new(),
    dirs: Vec::new(),
    roots: Vec::new(),
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

fn emergency_cleanup() {
    let r = registry();
    for pid in &r.pids {
        // SAFETY: kill(2) with a pid of a child we spawned and have not reaped.
        unsafe {
            libc::kill(*pid as libc::pid_t, libc::SIGKILL);
        }
    }
    for dir in &r.dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
    for root in &r.roots {
        let _ = std::fs::remove_dir(root);
    }
}

fn install_signal_cleanup() -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot build the signal runtime")?;
    let (mut int, mut term) = rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        ))
    })?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            rt.block_on(async {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            });
            eprintln!("outbox_bench: interrupted; stopping mosquitto and removing temporary files");
            emergency_cleanup();
            std::process::exit(130);
        })
        .context("cannot start the signal thread")?;
    Ok(())
}

/// Spawns `cmd` so that it is killed if this process dies, and registers it for cleanup.
fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    // SAFETY: prctl is async-signal-safe; the closure allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    registry().pids.push(child.id());
    Ok(child)
}

fn forget_pid(pid: u32) {
    registry().pids.retain(|p| *p != pid);
}

/// The scratch directory `DIR/run-PID`, removed (with DIR if it ends up empty) on drop.
struct Scratch {
    root: PathBuf,
    dir: PathBuf,
}

impl Scratch {
    fn new(root: &Path) -> Result<Scratch> {
        let dir = root.join(format!("run-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let mut r = registry();
        r.dirs.push(dir.clone());
        r.roots.push(root.to_path_buf());
        drop(r);
        Ok(Scratch {
            root: root.to_path_buf(),
            dir,
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir(&self.root);
        let mut r = registry();
        r.dirs.retain(|d| *d != self.dir);
        r.roots.retain(|d| *d != self.root);
    }
}

// ---------------------------------------------------------------------------------------------
// Store, outbox and messages.

fn store_settings() -> StoreSettings {
    StoreSettings {
        backend: StoreBackendKind::Redb,
        cache_mb: 32,
    }
}

fn open_store(dir: &Path) -> Result<Arc<Store>> {
    let opened = Store::open(dir, &store_settings())
        .with_context(|| format!("cannot open the store in {}", dir.display()))?;
    if let Some(aside) = opened.quarantined {
        bail!(
            "the store in {} was damaged and moved to {}",
            dir.display(),
            aside.display()
        );
    }
    Ok(Arc::new(opened.store))
}

fn fresh_store(dir: &Path) -> Result<Arc<Store>> {
    let _ = std::fs::remove_dir_all(dir);
    open_store(dir)
}

fn open_outbox(store: &Arc<Store>, max_bytes: u64) -> Result<Outbox> {
    Outbox::open(
        store.clone(),
        OutboxSettings {
            store_id: STORE_ID.into(),
            device_id: DEVICE_ID.into(),
            max_bytes,
            disk_reserve_bytes: 0,
        },
    )
    .context("cannot open the outbox")
}

/// Waits for the writer, closes the store and removes its directory.
async fn finish(store: Arc<Store>, outbox: Outbox, dir: &Path) -> Result<()> {
    outbox.sync().await;
    drop(outbox);
    store.close().context("cannot close the store")?;
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

/// A critical QoS 1 message whose body is exactly `BODY_BYTES` of JSON: {"n":N,"pad":"xx…"}.
fn message(n: u64) -> Outgoing {
    let digits = n.to_string().len();
    let pad = BODY_BYTES.saturating_sub(15 + digits);
    let mut body = serde_json::Map::new();
    body.insert("n".into(), n.into());
    body.insert("pad".into(), "x".repeat(pad).into());
    Outgoing {
        class: Class::Critical,
        topic: TOPIC.into(),
        qos: 1,
        schema: "bench@1",
        body,
    }
}

async fn enqueue_checked(outbox: &Outbox, messages: Vec<Outgoing>) -> Result<()> {
    let n = messages.len();
    let results = outbox.enqueue(messages).await.context("enqueue failed")?;
    if results.len() != n || results.iter().any(|r| !matches!(r, Enqueued::Stored(_))) {
        bail!("the outbox dropped a message (is max_bytes too small?)");
    }
    Ok(())
}

fn queued(outbox: &Outbox) -> u64 {
    outbox.stats().iter().map(|s| s.queued).sum()
}

fn queued_bytes(outbox: &Outbox) -> u64 {
    outbox.stats().iter().map(|s| s.bytes).sum()
}

// ---------------------------------------------------------------------------------------------
// Part 1: durable enqueue rate.

struct Rate {
    msgs: u64,
    calls: u64,
    secs: f64,
    /// Sum of the latencies of every call (commit or enqueue).
    latency: Duration,
}

impl Rate {
    fn per_s(&self) -> f64 {
        self.msgs as f64 / self.secs
    }

    fn mean_ms(&self) -> f64 {
        self.latency.as_secs_f64() * 1000.0 / self.calls.max(1) as f64
    }
}

/// Raw `Store::commit` of `per_commit` 200-byte log appends per commit, for about `BUDGET`.
fn raw_store(dir: &Path, per_commit: usize) -> Result<Rate> {
    let store = fresh_store(dir)?;
    let value = [0x5au8; BODY_BYTES];
    let start = Instant::now();
    let (mut calls, mut latency) = (0u64, Duration::ZERO);
    while start.elapsed() < BUDGET || calls < 20 {
        let mut batch = Batch::new();
        for _ in 0..per_commit {
            batch.append("bench", &value);
        }
        let t = Instant::now();
        store.commit(batch).context("raw store commit failed")?;
        latency += t.elapsed();
        calls += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    store.close().context("cannot close the store")?;
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
    Ok(Rate {
        msgs: calls * per_commit as u64,
        calls,
        secs,
        latency,
    })
}

/// `producers` tasks, each enqueueing `per_call` messages per call and awaiting it, for `BUDGET`.
async fn outbox_rate(dir: &Path, producers: usize, per_call: usize) -> Result<Rate> {
    let store = fresh_store(dir)?;
    let outbox = open_outbox(&store, GIB)?;
    let start = Instant::now();
    let deadline = start + BUDGET;
    let mut tasks = Vec::new();
    for p in 0..producers {
        let outbox = outbox.clone();
        tasks.push(tokio::spawn(async move {
            let (mut calls, mut latency) = (0u64, Duration::ZERO);
            let mut n = (p as u64) << 40;
            while Instant::now() < deadline || calls < 20 {
                let messages = (0..per_call).map(|i| message(n + i as u64)).collect();
                n += per_call as u64;
                let t = Instant::now();
                enqueue_checked(&outbox, messages).await?;
                latency += t.elapsed();
                calls += 1;
            }
            Ok::<_, anyhow::Error>((calls, latency))
        }));
    }
    let (mut calls, mut latency) = (0u64, Duration::ZERO);
    for task in tasks {
        let (c, l) = task
            .await
            .map_err(|e| anyhow!("producer task failed: {e}"))??;
        calls += c;
        latency += l;
    }
    let secs = start.elapsed().as_secs_f64();
    let stored = queued(&outbox);
    if stored != calls * per_call as u64 {
        bail!(
            "outbox holds {stored} messages, {} were enqueued",
            calls * per_call as u64
        );
    }
    finish(store, outbox, dir).await?;
    Ok(Rate {
        msgs: calls * per_call as u64,
        calls,
        secs,
        latency,
    })
}

/// Median of `v` (which is not empty).
fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(*x), hi.max(*x))
        })
}

#[derive(Clone, Copy)]
enum Case {
    /// Raw `Store::commit` with this many records per commit.
    Raw(usize),
    /// The outbox with (producers, messages per enqueue).
    Outbox(usize, usize),
}

fn part1(rt: &Runtime, scratch: &Scratch) -> Result<()> {
    let body = serde_json::to_vec(&serde_json::Value::Object(message(12345).body))?.len();
    let cases = [
        (
            "raw Store::commit, 1 record/commit (floor)".to_string(),
            Case::Raw(1),
        ),
        (
            format!("raw Store::commit, {BATCH} records/commit"),
            Case::Raw(BATCH),
        ),
        (
            "(a) outbox, 1 producer, 1 msg/enqueue".to_string(),
            Case::Outbox(1, 1),
        ),
        (
            format!("(b) outbox, {PRODUCERS} producers, 1 msg/enqueue each"),
            Case::Outbox(PRODUCERS, 1),
        ),
        (
            format!("(c) outbox, 1 producer, {BATCH} msgs/enqueue"),
            Case::Outbox(1, BATCH),
        ),
    ];
    // Rounds interleave the cases so that drift in the disk's fsync latency hits all alike.
    let mut rates = vec![Vec::new(); cases.len()];
    let mut latencies = vec![Vec::new(); cases.len()];
    for round in 0..ROUNDS {
        for (i, (_, case)) in cases.iter().enumerate() {
            let dir = scratch.path(&format!("enqueue-{round}-{i}"));
            let rate = match *case {
                Case::Raw(n) => raw_store(&dir, n)?,
                Case::Outbox(p, n) => rt.block_on(outbox_rate(&dir, p, n))?,
            };
            rates[i].push(rate.per_s());
            latencies[i].push(rate.mean_ms());
        }
    }
    let floor = median(&rates[0]);
    println!();
    println!(
        "1. durable enqueue, {body}-byte JSON bodies, redb; median of {ROUNDS} interleaved rounds of ~{} s, each on a fresh store",
        BUDGET.as_secs()
    );
    println!(
        "{:<46} {:>10} {:>19} {:>12} {:>9}",
        "case", "msgs/s", "min..max msgs/s", "ms per call", "x floor"
    );
    for (i, (name, _)) in cases.iter().enumerate() {
        let (lo, hi) = min_max(&rates[i]);
        println!(
            "{name:<46} {:>10.0} {:>19} {:>12.2} {:>9.2}",
            median(&rates[i]),
            format!("{lo:.0}..{hi:.0}"),
            median(&latencies[i]),
            median(&rates[i]) / floor
        );
    }
    println!(
        "group-commit gain (b)/(a): {:.2}x; (a) vs floor: {:.2}; (c) vs raw {BATCH}/commit: {:.2}",
        median(&rates[3]) / median(&rates[2]),
        median(&rates[2]) / floor,
        median(&rates[4]) / median(&rates[1])
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Part 2: drain to a local mosquitto.

fn find_exe(name: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| anyhow!("{name} not found on PATH or in /usr/sbin (install mosquitto and mosquitto-clients)"))
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// A mosquitto on 127.0.0.1, killed (and its temporary directory removed) on drop.
struct Broker {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Broker {
    fn start() -> Result<Broker> {
        let exe = find_exe("mosquitto")?;
        let dir = tempfile::Builder::new()
            .prefix("outbox-bench-mosquitto-")
            .tempdir()
            .context("cannot create a temporary directory for mosquitto")?;
        registry().dirs.push(dir.path().to_path_buf());
        let port = free_port()?;
        let conf = dir.path().join("mosquitto.conf");
        let log = dir.path().join("mosquitto.log");
        let mut text = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nsys_interval 1\n\
             log_dest stderr\nlog_type error\nlog_type warning\n"
        );
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            // Otherwise mosquitto drops to the `mosquitto` user and cannot use this directory.
            text.push_str("user root\n");
        }
        std::fs::write(&conf, text).context("cannot write mosquitto.conf")?;
        let log_file = std::fs::File::create(&log).context("cannot create mosquitto.log")?;
        let child = spawn(
            Command::new(&exe)
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(log_file.try_clone()?)
                .stderr(log_file),
        )
        .with_context(|| format!("cannot start {}", exe.display()))?;
        let mut broker = Broker {
            child,
            port,
            log,
            _dir: dir,
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        loop {
            if let Some(status) = broker.child.try_wait()? {
                bail!(
                    "mosquitto exited at start ({status}): {}",
                    broker.log_text()
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(broker);
            }
            if start.elapsed() > Duration::from_secs(10) {
                bail!(
                    "mosquitto does not listen on {addr} after 10 s: {}",
                    broker.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }

    /// The broker's count of PUBLISH packets received, from `$SYS` (None if unavailable).
    fn received(&self) -> Option<u64> {
        let exe = find_exe("mosquitto_sub").ok()?;
        let out = Command::new(exe)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-C", "1", "-W", "3", "-t", SYS_RECEIVED])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }

    /// Waits (the `$SYS` tree is refreshed every second) until the count reaches `at_least`;
    /// returns the count seen last.
    fn received_at_least(&self, at_least: u64) -> Option<u64> {
        let start = Instant::now();
        loop {
            let seen = self.received();
            match seen {
                Some(n) if n >= at_least => return seen,
                _ if start.elapsed() > Duration::from_secs(5) => return seen,
                _ => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        // Forgotten before it is reaped, so the signal thread never kills a recycled pid.
        forget_pid(self.child.id());
        let _ = self.child.wait();
        registry().dirs.retain(|d| d != self._dir.path());
    }
}

/// One drain of `DRAIN_N` messages.
struct DrainRun {
    /// Until mosquitto_pub exited / until the outbox was empty (every message PUBACKed and
    /// its deletion committed).
    secs: f64,
    /// Link only: until the last PUBACK arrived.
    acked_secs: Option<f64>,
    /// PUBLISH packets the broker counted during the run, if `$SYS` was readable.
    broker_saw: Option<u64>,
}

/// The broker's count since `before`, once it reached `DRAIN_N`; an error if it stays short.
fn broker_count(broker: &Broker, before: Option<u64>, who: &str) -> Result<Option<u64>> {
    let Some(before) = before else {
        return Ok(None);
    };
    match broker.received_at_least(before + DRAIN_N as u64) {
        Some(n) if n - before >= DRAIN_N as u64 => Ok(Some(n - before)),
        Some(n) => bail!(
            "{who}: the broker counted only {} of {DRAIN_N} publishes ({SYS_RECEIVED})",
            n - before
        ),
        None => Ok(None),
    }
}

/// `mosquitto_pub -q 1 -l` publishing `DRAIN_N` lines of `line_len` bytes.
fn drain_mosquitto_pub(broker: &Broker, line_len: usize) -> Result<DrainRun> {
    let exe = find_exe("mosquitto_pub")?;
    let mut lines = Vec::with_capacity(DRAIN_N * (line_len + 1));
    for n in 0..DRAIN_N {
        let head = format!("{{\"n\":{n},\"pad\":\"");
        let pad = line_len.saturating_sub(head.len() + 2);
        lines.extend_from_slice(head.as_bytes());
        lines.resize(lines.len() + pad, b'x');
        lines.extend_from_slice(b"\"}\n");
    }
    let before = broker.received();
    let start = Instant::now();
    let mut child = spawn(
        Command::new(&exe)
            .args(["-h", "127.0.0.1", "-p", &broker.port.to_string()])
            .args([
                "-q",
                "1",
                "-t",
                &format!("retail/v1/{STORE_ID}/{DEVICE_ID}/{TOPIC}"),
            ])
            .arg("-l")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    )
    .with_context(|| format!("cannot start {}", exe.display()))?;
    // Not left to the signal thread (the pid is recycled once reaped): PR_SET_PDEATHSIG stops it.
    forget_pid(child.id());
    let stdin = child.stdin.take().context("no stdin for mosquitto_pub")?;
    let feeder = std::thread::spawn(move || -> std::io::Result<()> {
        let mut w = BufWriter::new(stdin);
        w.write_all(&lines)?;
        w.flush()
    });
    let out = child.wait_with_output();
    let secs = start.elapsed().as_secs_f64();
    let out = out.context("mosquitto_pub failed")?;
    let fed = feeder
        .join()
        .map_err(|_| anyhow!("the mosquitto_pub feeder thread panicked"))?;
    if !out.status.success() {
        bail!(
            "mosquitto_pub exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    fed.context("cannot feed mosquitto_pub")?;
    Ok(DrainRun {
        secs,
        acked_secs: None,
        broker_saw: broker_count(broker, before, "mosquitto_pub")?,
    })
}

/// Pre-fills a fresh outbox with `DRAIN_N` messages while no link runs, then times
/// `link::run` until the outbox is empty. Also returns the payload size of the messages.
async fn drain_link(broker: &Broker, dir: &Path, inflight: u16) -> Result<(DrainRun, usize)> {
    let store = fresh_store(dir)?;
    let outbox = open_outbox(&store, GIB)?;
    let mut n = 0u64;
    while n < DRAIN_N as u64 {
        let chunk = (DRAIN_N as u64 - n).min(1000);
        enqueue_checked(&outbox, (n..n + chunk).map(message).collect()).await?;
        n += chunk;
    }
    let queued_now = queued(&outbox);
    if queued_now != DRAIN_N as u64 {
        bail!("pre-fill left {queued_now} messages queued, expected {DRAIN_N}");
    }
    let topic_len = format!("retail/v1/{STORE_ID}/{DEVICE_ID}/{TOPIC}").len();
    let payload_len = (queued_bytes(&outbox) / DRAIN_N as u64) as usize - 3 - topic_len;

    let mut config = Config::default();
    config.identity.store_id = STORE_ID.into();
    config.identity.device_id = DEVICE_ID.into();
    config.mqtt.host = "127.0.0.1".into();
    config.mqtt.port = broker.port;
    config.mqtt.inflight = inflight;
    let settings = sync::link_settings(&config)
        .map_err(|e| anyhow!("link settings: {e}"))?
        .context("the config has no broker")?;
    let before = tokio::task::block_in_place(|| broker.received());
    let shutdown = Shutdown::new();
    let status = Arc::new(LinkStatus::default());
    let start = Instant::now();
    let task = tokio::spawn(link::run(
        settings,
        outbox.clone(),
        status.clone(),
        None, // no command subscription: a pure drain
        shutdown.listener(),
    ));
    let mut acked_secs = None;
    let outcome = loop {
        if acked_secs.is_none() && status.acked.load(Ordering::Relaxed) >= DRAIN_N as u64 {
            acked_secs = Some(start.elapsed().as_secs_f64());
        }
        if queued(&outbox) == 0 {
            break Ok(start.elapsed().as_secs_f64());
        }
        if task.is_finished() {
            break Err(anyhow!("the link stopped before the outbox was drained"));
        }
        if start.elapsed() > DRAIN_LIMIT {
            let last = status
                .last_error
                .lock()
                .map(|s| s.clone())
                .unwrap_or_default();
            break Err(anyhow!(
                "the link did not drain {DRAIN_N} messages within {} s ({} still queued, {} acked, last error: {last:?})",
                DRAIN_LIMIT.as_secs(),
                queued(&outbox),
                status.acked.load(Ordering::Relaxed)
            ));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    shutdown.trigger();
    match tokio::time::timeout(Duration::from_secs(5), task).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => eprintln!("outbox_bench: the link ended with an error: {e}"),
        Ok(Err(e)) => eprintln!("outbox_bench: the link task failed: {e}"),
        Err(_) => eprintln!("outbox_bench: the link did not stop within 5 s"),
    }
    let secs = outcome?;
    let connects = status.connects.load(Ordering::Relaxed);
    let failures = status.failures.load(Ordering::Relaxed);
    if connects != 1 || failures != 0 {
        eprintln!(
            "outbox_bench: note: link inflight {inflight} needed {connects} connects ({failures} failures)"
        );
    }
    // The link's own `status` and `info` messages are retained, which mosquitto 2.0 leaves out
    // of the `publish/messages/received` count: only the outbox messages are counted.
    let who = format!("link inflight {inflight}");
    let broker_saw = tokio::task::block_in_place(|| broker_count(broker, before, &who))?;
    finish(store, outbox, dir).await?;
    Ok((
        DrainRun {
            secs,
            acked_secs: acked_secs.or(Some(secs)),
            broker_saw,
        },
        payload_len,
    ))
}

fn part2(rt: &Runtime, scratch: &Scratch) -> Result<()> {
    let broker = Broker::start()?;
    let default_window = Config::default().mqtt.inflight;
    let mut names: Vec<String> = WINDOWS
        .iter()
        .map(|w| {
            let default = if *w == default_window {
                " (default)"
            } else {
                ""
            };
            format!("edge-runtime link::run, inflight {w}{default}")
        })
        .collect();
    names.push("mosquitto_pub -q 1 -l (its default -M)".into());
    let mut runs: Vec<Vec<DrainRun>> = names.iter().map(|_| Vec::new()).collect();
    let mut payload_len = 0;
    for round in 0..DRAIN_ROUNDS {
        // The link goes first: its first run gives the payload size for mosquitto_pub's lines.
        for (i, inflight) in WINDOWS.iter().enumerate() {
            let dir = scratch.path(&format!("drain-{round}-{inflight}"));
            let (run, len) = rt.block_on(drain_link(&broker, &dir, *inflight))?;
            payload_len = len;
            runs[i].push(run);
        }
        runs[WINDOWS.len()].push(drain_mosquitto_pub(&broker, payload_len)?);
    }
    let rate = |r: &[DrainRun]| {
        let secs: Vec<f64> = r.iter().map(|d| d.secs).collect();
        DRAIN_N as f64 / median(&secs)
    };
    let reference = rate(&runs[WINDOWS.len()]);
    println!();
    println!(
        "2. drain {DRAIN_N} queued QoS 1 messages ({payload_len}-byte payloads) to mosquitto on 127.0.0.1:{}; median of {DRAIN_ROUNDS} rounds",
        broker.port
    );
    println!(
        "{:<46} {:>9} {:>15} {:>9} {:>9} {:>10} {:>10}",
        "sender", "msgs/s", "min..max", "s PUBACK", "s done", "broker saw", "x mos_pub"
    );
    let order = std::iter::once(WINDOWS.len()).chain(0..WINDOWS.len());
    for i in order {
        let r = &runs[i];
        let per_run: Vec<f64> = r.iter().map(|d| DRAIN_N as f64 / d.secs).collect();
        let (lo, hi) = min_max(&per_run);
        let secs: Vec<f64> = r.iter().map(|d| d.secs).collect();
        let acked: Vec<f64> = r.iter().filter_map(|d| d.acked_secs).collect();
        let saw = if r.iter().all(|d| d.broker_saw.is_some()) {
            let least = r.iter().filter_map(|d| d.broker_saw).min().unwrap_or(0);
            format!("{least}")
        } else {
            "n/a".into()
        };
        println!(
            "{:<46} {:>9.0} {:>15} {:>9} {:>9.3} {:>10} {:>10.2}",
            names[i],
            rate(r),
            format!("{lo:.0}..{hi:.0}"),
            if acked.is_empty() {
                "-".to_string()
            } else {
                format!("{:.3}", median(&acked))
            },
            median(&secs),
            saw,
            rate(r) / reference
        );
    }
    println!(
        "s PUBACK: until the last PUBACK; s done: until mosquitto_pub exited / the outbox was empty (deletions committed)"
    );
    println!(
        "broker saw: fewest PUBLISH packets {SYS_RECEIVED} counted in a run (the link's retained status/info are not counted)"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Part 3: memory with a large queue.

#[derive(Clone, Copy)]
struct Mem {
    rss_kb: u64,
    hwm_kb: u64,
}

fn mem() -> Result<Mem> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("cannot read /proc/self/status")?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .ok_or_else(|| anyhow!("no {name} in /proc/self/status"))
    };
    Ok(Mem {
        rss_kb: field("VmRSS:")?,
        hwm_kb: field("VmHWM:")?,
    })
}

/// Resets VmHWM to the current RSS (Linux clear_refs 5); false if the kernel refused.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", b"5").is_ok()
}

fn part3(rt: &Runtime, scratch: &Scratch, count: u64) -> Result<()> {
    const CHUNK: u64 = 1000;
    let dir = scratch.path("queued");
    let max_bytes = GIB.max(count.saturating_mul(1024));
    let reset = reset_peak();
    let before = mem()?;
    let store = fresh_store(&dir)?;
    let outbox = open_outbox(&store, max_bytes)?;
    let start = Instant::now();
    rt.block_on(async {
        let mut n = 0u64;
        while n < count {
            let chunk = (count - n).min(CHUNK);
            enqueue_checked(&outbox, (n..n + chunk).map(message).collect()).await?;
            n += chunk;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    let enqueue_secs = start.elapsed().as_secs_f64();
    let after = mem()?;
    let stats = outbox.stats();
    let (in_queue, bytes) = (queued(&outbox), queued_bytes(&outbox));
    let dropped: u64 = stats.iter().map(|s| s.dropped).sum();
    let disk = store.disk_bytes().context("cannot size the store")?;
    let allocated = std::fs::metadata(store.path()).map_or(0, |m| m.blocks() * 512);
    rt.block_on(outbox.sync());
    drop(outbox);
    store.close().context("cannot close the store")?;
    drop(store);
    let closed = mem()?;

    // Reopen with the queue on disk: what a restart with a full outbox costs.
    let reset2 = reset_peak();
    let start = Instant::now();
    let store = open_store(&dir)?;
    let outbox = open_outbox(&store, max_bytes)?;
    let reopen_secs = start.elapsed().as_secs_f64();
    let reopened = mem()?;
    let requeued = queued(&outbox);
    let first = outbox
        .next_batch(1)
        .context("cannot read the reopened outbox")?;
    rt.block_on(finish(store, outbox, &dir))?;
    if in_queue != count || dropped != 0 || requeued != count || first.is_empty() {
        bail!("expected {count} queued messages; had {in_queue} ({dropped} dropped), {requeued} after reopening");
    }

    let mib = |kb: u64| kb as f64 / 1024.0;
    println!();
    println!(
        "3. {count} queued messages, no link (redb, cache_mb 32, max_bytes {} MiB, enqueue batches of {CHUNK})",
        max_bytes / (1 << 20)
    );
    println!("{:<46} {:>14}", "figure", "value");
    let peak_note = if reset { "" } else { " (not reset: whole run)" };
    let rows: Vec<(String, String)> = vec![
        ("enqueue time, s".into(), format!("{enqueue_secs:.1}")),
        (
            "enqueue rate, msgs/s".into(),
            format!("{:.0}", count as f64 / enqueue_secs),
        ),
        (
            "queued messages (outbox figure)".into(),
            format!("{in_queue}"),
        ),
        (
            "queued bytes (outbox figure), MiB".into(),
            format!("{:.1}", bytes as f64 / MIB),
        ),
        (
            "store on disk (disk_bytes), MiB".into(),
            format!("{:.1}", disk as f64 / MIB),
        ),
        (
            "  of it allocated (st_blocks), MiB".into(),
            format!("{:.1}", allocated as f64 / MIB),
        ),
        (
            "VmRSS before, MiB".into(),
            format!("{:.1}", mib(before.rss_kb)),
        ),
        (
            "VmRSS after enqueue, MiB".into(),
            format!("{:.1}", mib(after.rss_kb)),
        ),
        (
            format!("VmHWM during enqueue, MiB{peak_note}"),
            format!("{:.1}", mib(after.hwm_kb)),
        ),
        (
            "VmRSS after closing the store, MiB".into(),
            format!("{:.1}", mib(closed.rss_kb)),
        ),
        (
            "reopen store + outbox (integrity check), s".into(),
            format!("{reopen_secs:.2}"),
        ),
        (
            format!(
                "VmHWM during reopen, MiB{}",
                if reset2 { "" } else { " (not reset)" }
            ),
            format!("{:.1}", mib(reopened.hwm_kb)),
        ),
        (
            "VmRSS after reopen, MiB".into(),
            format!("{:.1}", mib(reopened.rss_kb)),
        ),
    ];
    for (name, value) in rows {
        println!("{name:<46} {value:>14}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------

fn run() -> Result<()> {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/outbox-bench"));
    let count = match std::env::var("OUTBOX_BENCH_QUEUED") {
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| anyhow!("OUTBOX_BENCH_QUEUED={v:?} is not a positive count"))?,
        Err(_) => 1_000_000,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot build the tokio runtime")?;
    let scratch = Scratch::new(&root)?;
    println!(
        "outbox benchmark in {} (every commit durable; {} CPUs)",
        scratch.dir.display(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    part1(&rt, &scratch)?;
    part2(&rt, &scratch)?;
    part3(&rt, &scratch, count)?;
    Ok(())
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let code = match install_signal_cleanup().and_then(|()| run()) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("outbox_bench: error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
