//! Test PKI (rcgen) and a mosquitto with a plain listener plus a TLS listener, for the MQTT TLS
//! tests. Include it with `mod common;` and `#[path = "common/tls.rs"] mod tls;` at the crate
//! root of the test.
#![allow(dead_code)]

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A certificate and its private key, both PEM files.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The certificate, PEM.
    pub cert: PathBuf,
    /// Its private key, PEM (PKCS#8).
    pub key: PathBuf,
}

/// A certificate authority that issues server and client certificates.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// The CA certificate, PEM file.
    pub cert: PathBuf,
    dir: PathBuf,
}

impl Ca {
    /// A new self-signed CA named `name`; its certificate is written to `dir/<name>-ca.pem`.
    pub fn new(dir: &Path, name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        params
            .distinguished_name
            .push(DnType::OrganizationName, format!("{name} test PKI"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2100, 1, 1);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        std::fs::create_dir_all(dir).unwrap();
        let cert = dir.join(format!("{name}-ca.pem"));
        std::fs::write(&cert, issuer.pem()).unwrap();
        Ca {
            issuer,
            cert,
            dir: dir.to_path_buf(),
        }
    }

    /// A broker certificate for 127.0.0.1 and localhost.
    pub fn server(&self, name: &str) -> CertFiles {
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2100, 1, 1);
        self.issue(params, name)
    }

    /// A client certificate with common name `cn`, valid from 2020 to 2100.
    pub fn client(&self, name: &str, cn: &str) -> CertFiles {
        self.client_valid(name, cn, (2020, 1, 1), (2100, 1, 1))
    }

    /// A client certificate with common name `cn` that expired on 2021-01-01.
    pub fn expired_client(&self, name: &str, cn: &str) -> CertFiles {
        self.client_valid(name, cn, (2020, 1, 1), (2021, 1, 1))
    }

    /// A client certificate valid between two (year, month, day) dates.
    fn client_valid(
        &self,
        name: &str,
        cn: &str,
        from: (i32, u8, u8),
        until: (i32, u8, u8),
    ) -> CertFiles {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = date_time_ymd(from.0, from.1, from.2);
        params.not_after = date_time_ymd(until.0, until.1, until.2);
        self.issue(params, name)
    }

    fn issue(&self, params: CertificateParams, name: &str) -> CertFiles {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let files = CertFiles {
            cert: self.dir.join(format!("{name}.pem")),
            key: self.dir.join(format!("{name}.key")),
        };
        std::fs::write(&files.cert, cert.pem()).unwrap();
        std::fs::write(&files.key, key.serialize_pem()).unwrap();
        files
    }
}

/// The TLS listener of a [`TlsBroker`].
#[derive(Debug, Clone)]
pub struct TlsListener {
    /// CA the broker trusts for client certificates (mosquitto `cafile`).
    pub ca: PathBuf,
    /// The broker's own certificate and key.
    pub server: CertFiles,
    /// Whether clients must present a certificate signed by `ca`.
    pub require_certificate: bool,
    /// Cap the listener at TLS 1.2. Otherwise TLS 1.3 is negotiated: mosquitto 2.0's
    /// `tls_version` is only a minimum, so the cap goes through an OpenSSL config
    /// (`MaxProtocol = TLSv1.2`) in mosquitto's environment.
    pub tls12_only: bool,
}

/// mosquitto with a plain listener (for the consumer) and a TLS listener (for the daemon).
pub struct TlsBroker {
    child: Option<Child>,
    /// Plain MQTT port on 127.0.0.1.
    pub plain_port: u16,
    /// MQTT over TLS port on 127.0.0.1.
    pub tls_port: u16,
    log: PathBuf,
}

impl TlsBroker {
    /// Writes a config under `dir/tls-broker` and starts mosquitto on two free ports.
    pub fn start(dir: &Path, tls: &TlsListener) -> TlsBroker {
        let plain_port = crate::common::free_addr().port();
        let mut tls_port = crate::common::free_addr().port();
        while tls_port == plain_port {
            tls_port = crate::common::free_addr().port();
        }
        let data = dir.join("tls-broker");
        std::fs::create_dir_all(&data).unwrap();
        let conf = data.join("mosquitto.conf");
        // As root, mosquitto drops to user "mosquitto", which cannot read the keys in our
        // private temporary directory; keep it root there (as broker.rs does).
        // SAFETY: geteuid has no preconditions.
        let user = if unsafe { libc::geteuid() } == 0 {
            "user root\n"
        } else {
            ""
        };
        let mut text = format!(
            "{user}per_listener_settings false\nallow_anonymous true\npersistence false\n\
             max_queued_messages 0\nmax_inflight_messages 0\n\
             log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n\
             listener {plain_port} 127.0.0.1\n\
             listener {tls_port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\n\
             tls_version tlsv1.2\n",
            tls.ca.display(),
            tls.server.cert.display(),
            tls.server.key.display()
        );
        if tls.require_certificate {
            text.push_str("require_certificate true\nuse_identity_as_username true\n");
        }
        std::fs::write(&conf, text).unwrap();
        let log = data.join("broker.log");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut cmd = Command::new("mosquitto");
        if tls.tls12_only {
            let openssl = data.join("openssl.cnf");
            std::fs::write(
                &openssl,
                "openssl_conf = default_conf\n[default_conf]\nssl_conf = ssl_sect\n\
                 [ssl_sect]\nsystem_default = system_default_sect\n\
                 [system_default_sect]\nMaxProtocol = TLSv1.2\n",
            )
            .unwrap();
            cmd.env("OPENSSL_CONF", &openssl);
        }
        let child = cmd
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("mosquitto must be installed (scripts/test-all.sh installs it)");
        let mut broker = TlsBroker {
            child: Some(child),
            plain_port,
            tls_port,
            log,
        };
        let start = Instant::now();
        for port in [plain_port, tls_port] {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                if let Some(Ok(Some(status))) = broker.child.as_mut().map(|c| c.try_wait()) {
                    panic!("mosquitto exited with {status}:\n{}", broker.log());
                }
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "mosquitto did not start:\n{}",
                    broker.log()
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        broker
    }

    /// What mosquitto logged so far (errors, warnings, notices).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for TlsBroker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
