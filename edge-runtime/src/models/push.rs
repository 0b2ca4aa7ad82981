//! `edge-runtime model push`: headquarters' side of a model update. Offers a signed release to
//! one device over MQTT (`cmd/model`), sends what the device says it still needs in chunks, one
//! acknowledged chunk at a time, and reports the device's verdict. Run it again after any
//! interruption: the device keeps what it has and the transfer resumes.

use super::release::Release;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, TlsConfiguration, Transport};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where and what to push.
pub struct PushArgs {
    /// Release directory (`edge-runtime model release --out`).
    pub release: PathBuf,
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// User name and password file, if the broker wants them.
    pub credentials: Option<(String, PathBuf)>,
    /// CA certificate (PEM) of the broker: connect over TLS.
    pub ca_file: Option<PathBuf>,
    /// Client certificate and key (PEM) for mutual TLS.
    pub client: Option<(PathBuf, PathBuf)>,
    /// Store and device ids (the topic prefix).
    pub store: String,
    /// Device id.
    pub device: String,
    /// Bytes of file per chunk (before base64).
    pub chunk_bytes: usize,
    /// How long to wait for each answer.
    pub timeout: Duration,
}

struct Session {
    client: AsyncClient,
    events: rumqttc::EventLoop,
    prefix: String,
    timeout: Duration,
    sent: u64,
}

impl Session {
    /// Publishes a `cmd/model` command and waits for its ack.
    async fn command(&mut self, body: Value) -> Result<Value, String> {
        self.sent += 1;
        let id = format!("push-{}-{}", std::process::id(), self.sent);
        let payload = json!({"schema": "cmd.model@1", "id": id, "body": body}).to_string();
        self.client
            .publish(
                format!("{}cmd/model", self.prefix),
                QoS::AtLeastOnce,
                false,
                payload,
            )
            .await
            .map_err(|e| format!("cannot publish: {e}"))?;
        let ack_topic = format!("{}cmd/model/ack", self.prefix);
        let end = Instant::now() + self.timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "no answer from the device within {} s (is it online and connected to this broker?)",
                    self.timeout.as_secs()
                ));
            }
            match tokio::time::timeout(left, self.events.poll()).await {
                Err(_) => continue,
                Ok(Err(e)) => return Err(format!("broker connection: {e}")),
                Ok(Ok(Event::Incoming(Packet::Publish(p)))) if p.topic == ack_topic => {
                    let ack: Value = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                    if ack["id"] == id.as_str() {
                        return Ok(ack);
                    }
                }
                Ok(Ok(_)) => {}
            }
        }
    }
}

fn accepted(ack: &Value) -> Result<&Value, String> {
    if ack["status"] == "accepted" {
        Ok(ack)
    } else {
        Err(format!(
            "the device refused: {}",
            ack["reason"].as_str().unwrap_or("(no reason)")
        ))
    }
}

/// Pushes the release; the device's final answer on success.
pub async fn push(args: PushArgs) -> Result<String, String> {
    let dir = &args.release;
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    let text = read("release.toml")?;
    let signature = read("release.sig")?.trim().to_string();
    let release = Release::parse(&text)?;
    let mut options = MqttOptions::new(
        format!("edge-runtime-push-{}", std::process::id()),
        &args.host,
        args.port,
    );
    let packet = args.chunk_bytes * 4 / 3 + 64 * 1024;
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_clean_session(true)
        .set_max_packet_size(packet.max(1 << 20), packet);
    if let Some((user, file)) = &args.credentials {
        let password =
            std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        options.set_credentials(user, password.trim_end());
    }
    if let Some(ca) = &args.ca_file {
        let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
        let client_auth = match &args.client {
            Some((cert, key)) => Some((read(cert)?, read(key)?)),
            None => None,
        };
        options.set_transport(Transport::Tls(TlsConfiguration::Simple {
            ca: read(ca)?,
            alpn: None,
            client_auth,
        }));
    }
    let (client, events) = AsyncClient::new(options, 16);
    let prefix = format!("retail/v1/{}/{}/", args.store, args.device);
    client
        .subscribe(format!("{prefix}cmd/model/ack"), QoS::AtLeastOnce)
        .await
        .map_err(|e| format!("cannot subscribe: {e}"))?;
    let mut s = Session {
        client,
        events,
        prefix,
        timeout: args.timeout,
        sent: 0,
    };
    let ack = s
        .command(json!({"op": "offer", "release": text, "signature": signature}))
        .await?;
    let mut ack = accepted(&ack)?.clone();
    eprintln!("{}", ack["reason"].as_str().unwrap_or_default());
    let started = Instant::now();
    let mut bytes_sent = 0u64;
    // Send what the device asks for until it asks for nothing more.
    while let Some(need) = ack["detail"]["need"]
        .as_array()
        .and_then(|n| n.first())
        .cloned()
    {
        let path = need["path"].as_str().unwrap_or_default().to_string();
        let offset = need["offset"].as_u64().unwrap_or(0);
        let file = release
            .files
            .iter()
            .find(|f| f.path == path)
            .ok_or_else(|| format!("the device asks for {path:?}, which is not in the release"))?;
        let data = read_part(&dir.join(&file.path), offset, args.chunk_bytes)?;
        bytes_sent += data.len() as u64;
        let reply = s
            .command(
                json!({"op": "chunk", "name": release.name, "version": release.version,
                            "path": path, "offset": offset, "data": B64.encode(&data)}),
            )
            .await?;
        ack = accepted(&reply)?.clone();
        eprintln!(
            "  {path} @ {offset}: {}",
            ack["reason"].as_str().unwrap_or_default()
        );
    }
    Ok(format!(
        "{} ({} bytes sent in {:.1} s)",
        ack["reason"].as_str().unwrap_or_default(),
        bytes_sent,
        started.elapsed().as_secs_f64()
    ))
}

/// Up to `len` bytes of `path` from `offset`.
fn read_part(path: &Path, offset: u64, len: usize) -> Result<Vec<u8>, String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut buf = Vec::with_capacity(len);
    f.take(len as u64)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if buf.is_empty() {
        return Err(format!("{} has nothing at offset {offset}", path.display()));
    }
    Ok(buf)
}
