//! The headquarters link over TLS against a real mosquitto, with certificates generated in the
//! test (rcgen): server authentication, mutual TLS (over TLS 1.3 and on a TLS 1.2-only broker),
//! and the misconfigurations a store will meet (wrong CA, a client certificate from an unknown
//! CA, an expired client certificate, no client certificate where the broker requires one). A
//! refused connection must be logged clearly as a TLS problem, nothing may be delivered, and the
//! outbox must keep everything until the configuration is fixed.
//!
//! The daemon's messages go to mosquitto's TLS listener; headquarters (`hq-consumer`) reads them
//! from a plain listener of the same broker.

use crate::broker;

use crate::feeder;
use crate::tls;

use broker::Consumer;
use feeder::{assert_all_delivered, Feeder};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tls::{Ca, CertFiles, TlsBroker, TlsListener};

/// Messages per test.
const N: u64 = 100;

/// The TLS part of the feeder's `[mqtt]` section.
struct ClientTls<'a> {
    ca: &'a Path,
    client: Option<&'a CertFiles>,
}

fn feeder_config(dir: &Path, port: u16, tls: &ClientTls) -> PathBuf {
    let path = dir.join("feeder.toml");
    let mut mqtt = format!(
        "[mqtt]\nhost = \"127.0.0.1\"\nport = {port}\nkeep_alive_secs = 30\n\
         reconnect_min_ms = 50\nreconnect_max_secs = 1\nca_file = \"{}\"\n",
        tls.ca.display()
    );
    if let Some(client) = tls.client {
        mqtt.push_str(&format!(
            "client_cert = \"{}\"\nclient_key = \"{}\"\n",
            client.cert.display(),
            client.key.display()
        ));
    }
    std::fs::write(
        &path,
        format!(
            "[identity]\nstore_id = \"store-t\"\ndevice_id = \"dev-t\"\n\
             [paths]\nstate_dir = \"{}\"\n{mqtt}",
            dir.join("state").display()
        ),
    )
    .unwrap();
    path
}

/// Feeds `N` messages over TLS and checks every one reaches the consumer.
fn assert_delivers_over_tls(name: &str, dir: &Path, broker: &TlsBroker, tls: &ClientTls) {
    let consumer = Consumer::start(broker.plain_port, &format!("hq-{name}"));
    let config = feeder_config(dir, broker.tls_port, tls);
    let mut feeder = Feeder::start(&config, 0, N, 0);
    let drained = feeder.until(Duration::from_secs(15), |f| f.drained);
    assert!(
        drained,
        "{name}: outbox drained over TLS (accepted {}); feeder stderr:\n{}\nbroker log:\n{}",
        feeder.accepted.len(),
        feeder.stderr().join("\n"),
        broker.log()
    );
    let warnings = feeder.stderr();
    let accepted = feeder.stop();
    assert_eq!(accepted.len() as u64, N, "{name}: every message accepted");
    assert_all_delivered(name, &consumer, &accepted);
    assert!(
        !warnings
            .iter()
            .any(|l| l.contains("cannot reach headquarters")),
        "{name}: no connection failure expected: {warnings:?}"
    );
}

/// Runs a feeder that must be refused: it keeps accepting into the outbox, never drains,
/// nothing reaches the consumer, and it logs one warning mentioning TLS, the problem
/// (`expect`, any of them, case-insensitive) and the config keys to check. Then the config is
/// fixed (`fixed`) and a new feeder on the same outbox must deliver everything it buffered.
fn assert_refused_then_fixed(
    name: &str,
    dir: &Path,
    broker: &TlsBroker,
    bad: &ClientTls,
    expect: &[&str],
    fixed: &ClientTls,
) {
    let consumer = Consumer::start(broker.plain_port, &format!("hq-{name}"));
    let config = feeder_config(dir, broker.tls_port, bad);
    let mut feeder = Feeder::start(&config, 0, N, 0);
    assert!(
        feeder.until(Duration::from_secs(10), |f| f.accepted.len() as u64 == N),
        "{name}: the outbox accepts while the link is refused (accepted {})",
        feeder.accepted.len()
    );
    let line = feeder.log_line("cannot reach headquarters", Duration::from_secs(10));
    let line = line.unwrap_or_else(|| {
        panic!(
            "{name}: no connection failure logged; feeder stderr:\n{}\nbroker log:\n{}",
            feeder.stderr().join("\n"),
            broker.log()
        )
    });
    println!("{name}: daemon logged: {line}");
    assert!(
        line.contains(" WARN "),
        "{name}: logged as a warning: {line}"
    );
    assert!(
        line.contains("TLS"),
        "{name}: the log line says TLS: {line}"
    );
    assert!(
        line.contains("mqtt.ca_file") && line.contains("client_cert"),
        "{name}: the log line names the config keys to check: {line}"
    );
    let lower = line.to_lowercase();
    assert!(
        expect.iter().any(|e| lower.contains(&e.to_lowercase())),
        "{name}: the log line says what is wrong (one of {expect:?}): {line}"
    );
    // Several reconnect attempts (backoff is at most 1 s): still nothing gets through.
    feeder.until(Duration::from_secs(3), |_| false);
    assert!(
        !feeder.drained,
        "{name}: nothing acknowledged by the broker"
    );
    let received = consumer.received("stock/events");
    assert_eq!(
        received.total, 0,
        "{name}: nothing may be delivered over a refused link"
    );
    assert!(
        !consumer.payloads("status").iter().any(|v| v == "online"),
        "{name}: the daemon never came online"
    );
    let accepted = feeder.stop();
    assert_eq!(accepted.len() as u64, N);
    println!("{name}: broker log:\n{}", broker.log());

    // Fix the configuration: what the outbox buffered is delivered.
    let config = feeder_config(dir, broker.tls_port, fixed);
    let mut feeder = Feeder::start(&config, N, 0, 0);
    assert!(
        feeder.until(Duration::from_secs(15), |f| f.drained),
        "{name}: buffered messages drained once the config is fixed; feeder stderr:\n{}",
        feeder.stderr().join("\n")
    );
    feeder.stop();
    assert_all_delivered(&format!("{name} (fixed)"), &consumer, &accepted);
}

/// A broker whose TLS listener presents a certificate from `ca` and, when
/// `require_certificate`, only admits clients with a certificate from `ca`.
fn broker(dir: &Path, ca: &Ca, require_certificate: bool, tls12_only: bool) -> TlsBroker {
    TlsBroker::start(
        dir,
        &TlsListener {
            ca: ca.cert.clone(),
            server: ca.server("broker"),
            require_certificate,
            tls12_only,
        },
    )
}

#[test]
fn tls_with_server_authentication_delivers_everything() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(&dir.path().join("pki"), "hq");
    let broker = broker(dir.path(), &ca, false, false);
    let tls = ClientTls {
        ca: &ca.cert,
        client: None,
    };
    assert_delivers_over_tls("tls", dir.path(), &broker, &tls);
}

#[test]
fn mutual_tls_with_a_valid_client_certificate_delivers_everything() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(&dir.path().join("pki"), "hq");
    let broker = broker(dir.path(), &ca, true, false);
    let client = ca.client("store-t-dev-t", "store-t/dev-t");
    let tls = ClientTls {
        ca: &ca.cert,
        client: Some(&client),
    };
    assert_delivers_over_tls("mtls", dir.path(), &broker, &tls);
}

#[test]
fn mutual_tls_on_a_tls12_only_broker_delivers_everything() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(&dir.path().join("pki"), "hq");
    let broker = broker(dir.path(), &ca, true, true);
    let client = ca.client("store-t-dev-t", "store-t/dev-t");
    let tls = ClientTls {
        ca: &ca.cert,
        client: Some(&client),
    };
    assert_delivers_over_tls("mtls-tls12", dir.path(), &broker, &tls);
}

#[test]
fn wrong_ca_is_refused_and_buffered_until_the_ca_file_is_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let ca = Ca::new(&pki, "hq");
    let other = Ca::new(&pki, "other");
    let broker = broker(dir.path(), &ca, false, false);
    assert_refused_then_fixed(
        "wrong-ca",
        dir.path(),
        &broker,
        &ClientTls {
            ca: &other.cert,
            client: None,
        },
        &["invalid peer certificate", "UnknownIssuer"],
        &ClientTls {
            ca: &ca.cert,
            client: None,
        },
    );
}

#[test]
fn client_certificate_from_an_unknown_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let ca = Ca::new(&pki, "hq");
    let rogue = Ca::new(&pki, "rogue");
    let broker = broker(dir.path(), &ca, true, false);
    let unknown = rogue.client("unknown", "store-t/dev-t");
    let good = ca.client("good", "store-t/dev-t");
    assert_refused_then_fixed(
        "unknown-client-ca",
        dir.path(),
        &broker,
        &ClientTls {
            ca: &ca.cert,
            client: Some(&unknown),
        },
        &[
            "UnknownCA",
            "unknown ca",
            "BadCertificate",
            "bad certificate",
        ],
        &ClientTls {
            ca: &ca.cert,
            client: Some(&good),
        },
    );
}

fn expired_client_certificate_case(name: &str, tls12_only: bool) {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(&dir.path().join("pki"), "hq");
    let broker = broker(dir.path(), &ca, true, tls12_only);
    let expired = ca.expired_client("expired", "store-t/dev-t");
    let good = ca.client("good", "store-t/dev-t");
    assert_refused_then_fixed(
        name,
        dir.path(),
        &broker,
        &ClientTls {
            ca: &ca.cert,
            client: Some(&expired),
        },
        &["CertificateExpired", "certificate expired"],
        &ClientTls {
            ca: &ca.cert,
            client: Some(&good),
        },
    );
}

#[test]
fn expired_client_certificate_is_refused() {
    expired_client_certificate_case("expired-client-cert", false);
}

/// Over TLS 1.2 the broker's refusal ends the client's handshake itself (with TLS 1.3 it only
/// arrives after the handshake, when the CONNACK is read): both paths must log clearly.
#[test]
fn expired_client_certificate_is_refused_on_a_tls12_only_broker() {
    expired_client_certificate_case("expired-client-cert-tls12", true);
}

#[test]
fn missing_client_certificate_is_refused_when_the_broker_requires_one() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(&dir.path().join("pki"), "hq");
    let broker = broker(dir.path(), &ca, true, false);
    let good = ca.client("good", "store-t/dev-t");
    assert_refused_then_fixed(
        "missing-client-cert",
        dir.path(),
        &broker,
        &ClientTls {
            ca: &ca.cert,
            client: None,
        },
        &[
            "CertificateRequired",
            "certificate required",
            "HandshakeFailure",
        ],
        &ClientTls {
            ca: &ca.cert,
            client: Some(&good),
        },
    );
}
