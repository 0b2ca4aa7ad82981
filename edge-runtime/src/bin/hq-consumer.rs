//! hq-consumer: the reference headquarters consumer. Subscribes to every store topic with a
//! persistent QoS 1 session, drops duplicates by `(device, seq)`, and writes each unique message
//! as one JSON line `{"topic": ..., "payload": ...}` to stdout, acknowledging it only after the
//! line is written. Survives broker restarts. SIGINT/SIGTERM print a summary on stderr.
//!
//! Usage: hq-consumer [--host 127.0.0.1] [--port 1883] [--client-id hq-consumer]
//!                    [--topic 'retail/v1/#']

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::collections::HashSet;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

struct Args {
    host: String,
    port: u16,
    client_id: String,
    topic: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        host: "127.0.0.1".into(),
        port: 1883,
        client_id: "hq-consumer".into(),
        topic: "retail/v1/#".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--host" => args.host = value()?,
            "--port" => args.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--client-id" => args.client_id = value()?,
            "--topic" => args.topic = value()?,
            "-h" | "--help" => {
                return Err(
                    "usage: hq-consumer [--host H] [--port P] [--client-id ID] [--topic FILTER]"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(consume(args))
}

async fn consume(args: Args) -> ExitCode {
    let mut options = MqttOptions::new(&args.client_id, &args.host, args.port);
    options
        .set_clean_session(false)
        .set_manual_acks(true)
        // 30 s: a consumer stalled by a busy machine should not be dropped by the broker.
        .set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(16 << 20, 16 << 20);
    let (client, mut events) = AsyncClient::new(options, 1024);
    let mut seen: HashSet<(String, u64)> = HashSet::new();
    let (mut unique, mut duplicates) = (0u64, 0u64);
    let mut stdout = std::io::stdout();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot install SIGTERM handler: {e}");
            return ExitCode::from(1);
        }
    };
    let mut unacked: std::collections::VecDeque<rumqttc::Publish> = Default::default();
    loop {
        while let Some(p) = unacked.front() {
            if client.try_ack(p).is_err() {
                break; // queue full: the event loop drains it on the next poll
            }
            unacked.pop_front();
        }
        let event = tokio::select! {
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            event = events.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                // Subscribing again is harmless with a present session and needed without one.
                if let Err(e) = client.try_subscribe(args.topic.clone(), QoS::AtLeastOnce) {
                    eprintln!("hq-consumer: subscribe failed: {e}");
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let payload: serde_json::Value = serde_json::from_slice(&p.payload)
                    .unwrap_or_else(|_| String::from_utf8_lossy(&p.payload).into_owned().into());
                let key = (
                    payload["device"].as_str().map(str::to_string),
                    payload["seq"].as_u64(),
                );
                let fresh = match key {
                    (Some(device), Some(seq)) => seen.insert((device, seq)),
                    _ => true, // status/info and foreign messages carry no seq
                };
                if fresh {
                    unique += 1;
                    let line = serde_json::json!({ "topic": p.topic, "payload": payload });
                    if writeln!(stdout, "{line}")
                        .and_then(|_| stdout.flush())
                        .is_err()
                    {
                        break; // reader went away
                    }
                } else {
                    duplicates += 1;
                }
                // A full request queue (a burst on a slow machine) must not lose the ack: the
                // broker would stop sending once its in-flight window is unacknowledged.
                unacked.push_back(p);
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("hq-consumer: {e}; reconnecting");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    eprintln!("hq-consumer: {unique} unique messages, {duplicates} duplicates dropped");
    ExitCode::SUCCESS
}
