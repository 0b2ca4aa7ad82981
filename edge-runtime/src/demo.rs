//! `edge-runtime demo`: the daemon on built-in defaults, with an embedded MQTT broker (rumqttd)
//! on a free local port standing in for headquarters, so messages can be watched flowing.

use std::net::SocketAddr;

/// Starts rumqttd on `addr` in its own threads; it lives as long as the process.
pub fn start_embedded_broker(addr: SocketAddr) -> Result<(), String> {
    let config_text = format!(
        r#"
id = 0
[router]
max_connections = 64
max_outgoing_packet_count = 200
max_segment_size = 10485760
max_segment_count = 10

[v4.demo]
name = "demo"
listen = "{addr}"
next_connection_delay_ms = 1
[v4.demo.connections]
connection_timeout_ms = 60000
max_payload_size = 16777216
max_inflight_count = 100
dynamic_filters = true
"#
    );
    let config: rumqttd::Config =
        toml::from_str(&config_text).map_err(|e| format!("embedded broker config: {e}"))?;
    let mut broker = rumqttd::Broker::new(config);
    std::thread::Builder::new()
        .name("demo-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                log::error!("embedded broker stopped: {e}");
            }
        })
        .map_err(|e| format!("cannot start the embedded broker thread: {e}"))?;
    // Wait until it accepts connections, so the daemon's first connect succeeds.
    for _ in 0..100 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Err(format!("embedded broker did not start listening on {addr}"))
}

/// A loopback address with a free port.
pub fn free_local_addr() -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free port: {e}"))?;
    listener
        .local_addr()
        .map_err(|e| format!("cannot find a free port: {e}"))
}
