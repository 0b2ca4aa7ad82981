//! The MQTT link to headquarters: drains the outbox, deletes a message only on its PUBACK, and
//! replays everything unacknowledged after each reconnect.
//!
//! Each connection gets a fresh rumqttc event loop, so the outbox on disk stays the only
//! record of what is unsent (rumqttc's own pending queue never outlives a connection). The poll
//! loop never awaits a publish: publishes go through `try_publish` into a request channel sized
//! for the in-flight window, and each PUBACK is matched to its outbox entry by packet id.

use super::backoff::Backoff;
use super::commands::Command;
use super::{Entry, Outbox};
use crate::shutdown::ShutdownListener;
use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS,
    TlsConfiguration, Transport,
};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Files for TLS; mutual TLS when `client` is set.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// CA certificate(s), PEM.
    pub ca: PathBuf,
    /// Client certificate and key, PEM.
    pub client: Option<(PathBuf, PathBuf)>,
}

/// How to reach the broker.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// MQTT client id; stable, so the broker keeps our session.
    pub client_id: String,
    /// Keep-alive interval.
    pub keep_alive: Duration,
    /// Largest packet sent.
    pub max_packet_bytes: usize,
    /// Largest command accepted; larger ones up to twice this get a rejection ack.
    pub max_command_bytes: usize,
    /// Messages published but not yet acknowledged, at most.
    pub inflight: u16,
    /// User name and password.
    pub credentials: Option<(String, String)>,
    /// TLS, when set.
    pub tls: Option<TlsFiles>,
    /// First reconnect delay.
    pub reconnect_min: Duration,
    /// Largest reconnect delay.
    pub reconnect_max: Duration,
    /// JSON for the retained `info` topic (versions).
    pub info: Vec<u8>,
}

/// Link state for metrics and health messages.
#[derive(Debug, Default)]
pub struct LinkStatus {
    /// Whether the broker session is up.
    pub connected: AtomicBool,
    /// Successful connections since start.
    pub connects: AtomicU64,
    /// Failed connection attempts and dropped connections since start.
    pub failures: AtomicU64,
    /// Messages acknowledged by the broker since start.
    pub acked: AtomicU64,
    /// The last connection error.
    pub last_error: Mutex<String>,
}

/// One publish request waiting for its packet id: an outbox entry, or a link message.
type Requested = Option<Entry>;

fn qos(level: u8) -> QoS {
    if level == 0 {
        QoS::AtMostOnce
    } else {
        QoS::AtLeastOnce
    }
}

fn options(settings: &LinkSettings, prefix: &str) -> Result<MqttOptions, String> {
    let mut o = MqttOptions::new(&settings.client_id, &settings.host, settings.port);
    o.set_keep_alive(settings.keep_alive)
        .set_clean_session(false)
        // A command over the limit must still be received to be answered with a rejection.
        .set_max_packet_size(
            settings
                .max_command_bytes
                .saturating_mul(2)
                .saturating_add(4096),
            settings.max_packet_bytes,
        )
        .set_inflight(settings.inflight.saturating_mul(2).max(16))
        .set_last_will(LastWill::new(
            format!("{prefix}status"),
            "offline",
            QoS::AtLeastOnce,
            true,
        ));
    if let Some((user, password)) = &settings.credentials {
        o.set_credentials(user, password);
    }
    if let Some(tls) = &settings.tls {
        let read = |p: &PathBuf| {
            std::fs::read(p).map_err(|e| format!("cannot read TLS file {}: {e}", p.display()))
        };
        let client_auth = match &tls.client {
            Some((cert, key)) => Some((read(cert)?, read(key)?)),
            None => None,
        };
        o.set_transport(Transport::Tls(TlsConfiguration::Simple {
            ca: read(&tls.ca)?,
            alpn: None,
            client_auth,
        }));
    }
    Ok(o)
}

/// Runs the link until shutdown.
pub async fn run(
    settings: LinkSettings,
    outbox: Outbox,
    status: Arc<LinkStatus>,
    commands: Option<tokio::sync::mpsc::Sender<Command>>,
    mut shutdown: ShutdownListener,
) -> Result<(), String> {
    let prefix = outbox.topic_prefix().to_string();
    let seed = std::process::id() as u64
        ^ (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(7));
    let mut backoff = Backoff::new(settings.reconnect_min, settings.reconnect_max, seed);
    let mut logged_down = false;
    loop {
        let outcome = match options(&settings, &prefix) {
            Ok(o) => {
                let link = Link {
                    settings: &settings,
                    outbox: &outbox,
                    status: &status,
                    prefix: &prefix,
                    commands: commands.as_ref(),
                };
                session(&link, o, &mut shutdown).await
            }
            Err(e) => Err(SessionEnd::Failed(e)),
        };
        status.connected.store(false, Ordering::Relaxed);
        match outcome {
            Ok(()) => return Ok(()),
            Err(SessionEnd::Connected(why)) => {
                backoff.reset();
                log::warn!("connection to headquarters lost: {why}; reconnecting");
                logged_down = false;
                record_failure(&status, why);
            }
            Err(SessionEnd::Failed(why)) => {
                if !logged_down {
                    log::warn!(
                        "cannot reach headquarters at {}:{}: {why}; buffering in the outbox and retrying with backoff",
                        settings.host,
                        settings.port
                    );
                    logged_down = true;
                } else {
                    log::debug!("headquarters still unreachable: {why}");
                }
                record_failure(&status, why);
            }
        }
        let delay = backoff.next_delay();
        tokio::select! {
            _ = shutdown.wait() => return Ok(()),
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

fn record_failure(status: &LinkStatus, why: String) {
    status.failures.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut last) = status.last_error.lock() {
        *last = why;
    }
}

enum SessionEnd {
    /// The connection was up and then broke.
    Connected(String),
    /// The connection never came up.
    Failed(String),
}

impl From<String> for SessionEnd {
    fn from(s: String) -> Self {
        SessionEnd::Failed(s)
    }
}

fn describe(e: &ConnectionError) -> String {
    match e {
        ConnectionError::Tls(t) => {
            format!("TLS: {t} (check mqtt.ca_file, client_cert, client_key)")
        }
        ConnectionError::ConnectionRefused(code) => {
            format!("broker refused the connection: {code:?} (check username/password)")
        }
        // With TLS 1.3 the client's handshake is over before the broker has checked our
        // client certificate, so the broker's refusal (a TLS alert) only arrives when the
        // CONNACK is read, wrapped as an MQTT state or I/O error.
        other => match rustls_error(other) {
            Some(t) => format!("TLS: {t} (check mqtt.ca_file, client_cert, client_key)"),
            None => other.to_string(),
        },
    }
}

/// The rustls error inside `e`, if any (carried inside an `io::Error` somewhere in the chain).
fn rustls_error(e: &ConnectionError) -> Option<&tokio_rustls::rustls::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cause {
        if let Some(tls) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<tokio_rustls::rustls::Error>())
        {
            return Some(tls);
        }
        cause = err.source();
    }
    None
}

/// What a session works with.
struct Link<'a> {
    settings: &'a LinkSettings,
    outbox: &'a Outbox,
    status: &'a LinkStatus,
    prefix: &'a str,
    commands: Option<&'a tokio::sync::mpsc::Sender<Command>>,
}

/// Hands a `cmd/{kind}` publish to the command task (our own `.../ack` topics are ignored).
fn forward_command(link: &Link<'_>, publish: &rumqttc::Publish) {
    let Some(kind) = publish
        .topic
        .strip_prefix(link.prefix)
        .and_then(|t| t.strip_prefix("cmd/"))
    else {
        return;
    };
    if kind.ends_with("/ack") || kind == "ack" {
        return;
    }
    let Some(tx) = link.commands else { return };
    let cmd = Command {
        kind: kind.to_string(),
        retained: publish.retain,
        payload: publish.payload.to_vec(),
    };
    if tx.try_send(cmd).is_err() {
        log::warn!("command queue full; dropping a {kind} command (headquarters gets no ack and should retry)");
    }
}

/// One connection: connect, replay, stream, until an error or shutdown.
async fn session(
    link: &Link<'_>,
    options: MqttOptions,
    shutdown: &mut ShutdownListener,
) -> Result<(), SessionEnd> {
    let (settings, outbox, status, prefix) = (link.settings, link.outbox, link.status, link.prefix);
    let window = usize::from(settings.inflight.max(1));
    let (client, mut events) = AsyncClient::new(options, window + 16);
    outbox.rewind();
    let mut connected = false;
    let mut requested: VecDeque<Requested> = VecDeque::new();
    let mut inflight: HashMap<u16, Entry> = HashMap::new();
    loop {
        tokio::select! {
            _ = shutdown.wait() => {
                if connected {
                    goodbye(&client, &mut events, prefix).await;
                }
                return Ok(());
            }
            event = events.poll() => {
                let event = match event {
                    Ok(e) => e,
                    Err(e) if connected => return Err(SessionEnd::Connected(describe(&e))),
                    Err(e) => return Err(SessionEnd::Failed(describe(&e))),
                };
                match event {
                    Event::Incoming(Packet::ConnAck(ack)) => {
                        connected = true;
                        status.connected.store(true, Ordering::Relaxed);
                        status.connects.fetch_add(1, Ordering::Relaxed);
                        log::info!(
                            "connected to headquarters at {}:{} (session present: {}); replaying {} queued message(s)",
                            settings.host,
                            settings.port,
                            ack.session_present,
                            outbox.stats().iter().map(|s| s.queued).sum::<u64>()
                        );
                        link_message(&client, &mut requested, &format!("{prefix}status"), b"online".to_vec())?;
                        link_message(&client, &mut requested, &format!("{prefix}info"), settings.info.clone())?;
                        if link.commands.is_some() {
                            client
                                .try_subscribe(format!("{prefix}cmd/#"), QoS::AtLeastOnce)
                                .map_err(|e| SessionEnd::Connected(format!("cannot subscribe: {e}")))?;
                        }
                        fill(&client, outbox, &mut requested, &inflight, window)?;
                    }
                    Event::Outgoing(Outgoing::Publish(pkid)) => {
                        match requested.pop_front() {
                            Some(Some(entry)) if entry.qos == 0 => outbox.ack(&[entry]),
                            Some(Some(entry)) => {
                                inflight.insert(pkid, entry);
                            }
                            Some(None) | None => {}
                        }
                        if connected {
                            fill(&client, outbox, &mut requested, &inflight, window)?;
                        }
                    }
                    Event::Incoming(Packet::Publish(publish)) => forward_command(link, &publish),
                    Event::Incoming(Packet::PubAck(ack)) => {
                        if let Some(entry) = inflight.remove(&ack.pkid) {
                            status.acked.fetch_add(1, Ordering::Relaxed);
                            outbox.ack(&[entry]);
                        }
                        fill(&client, outbox, &mut requested, &inflight, window)?;
                    }
                    _ => {}
                }
            }
            _ = outbox.stored(), if connected => {
                fill(&client, outbox, &mut requested, &inflight, window)?;
            }
        }
    }
}

/// A retained link message (status, info): not from the outbox, never acknowledged to it.
fn link_message(
    client: &AsyncClient,
    requested: &mut VecDeque<Requested>,
    topic: &str,
    payload: Vec<u8>,
) -> Result<(), SessionEnd> {
    client
        .try_publish(topic, QoS::AtLeastOnce, true, payload)
        .map_err(|e| SessionEnd::Connected(format!("cannot queue {topic}: {e}")))?;
    requested.push_back(None);
    Ok(())
}

/// Publishes outbox entries until the in-flight window is full.
fn fill(
    client: &AsyncClient,
    outbox: &Outbox,
    requested: &mut VecDeque<Requested>,
    inflight: &HashMap<u16, Entry>,
    window: usize,
) -> Result<(), SessionEnd> {
    let busy = requested.len() + inflight.len();
    if busy >= window {
        return Ok(());
    }
    let entries = outbox
        .next_batch(window - busy)
        .map_err(|e| SessionEnd::Connected(format!("cannot read the outbox: {e}")))?;
    for entry in entries {
        client
            .try_publish(
                entry.topic.clone(),
                qos(entry.qos),
                false,
                entry.payload.clone(),
            )
            .map_err(|e| SessionEnd::Connected(format!("cannot queue a publish: {e}")))?;
        requested.push_back(Some(entry));
    }
    Ok(())
}

/// Publishes `offline` (retained) and disconnects cleanly, within a second.
async fn goodbye(client: &AsyncClient, events: &mut EventLoop, prefix: &str) {
    let _ = client.try_publish(format!("{prefix}status"), QoS::AtLeastOnce, true, "offline");
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            match events.poll().await {
                Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
}
