//! The watchdog feeder against a real notify socket: it pings while the stage beats and goes
//! silent when the stage stalls, which is what makes systemd restart a stuck daemon.

use edge_runtime::shutdown::Shutdown;
use edge_runtime::watchdog::{feed, Heartbeats};
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

#[test]
fn pings_stop_when_a_stage_stalls_and_resume_when_it_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    // This test binary is its own process and sets the variable before any thread starts.
    std::env::set_var("NOTIFY_SOCKET", &path);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let heartbeats = Heartbeats::new();
    let camera = heartbeats.register("camera");
    let shutdown = Shutdown::new();
    let task = runtime.spawn(feed(
        heartbeats.clone(),
        Duration::from_millis(100), // WatchdogSec: pings every 50 ms
        Duration::from_millis(400), // a beat older than this is stale
        shutdown.listener(),
    ));

    let count_pings = |window: Duration| {
        let mut buf = [0u8; 256];
        let mut pings = 0;
        let end = Instant::now() + window;
        while Instant::now() < end {
            if let Ok(n) = socket.recv(&mut buf) {
                if String::from_utf8_lossy(&buf[..n]).contains("WATCHDOG=1") {
                    pings += 1;
                }
            }
        }
        pings
    };

    // Beating: pings flow.
    let beating = {
        let end = Instant::now() + Duration::from_millis(600);
        let mut pings = 0;
        while Instant::now() < end {
            camera.beat();
            pings += count_pings(Duration::from_millis(100));
        }
        pings
    };
    assert!(beating >= 6, "expected pings while beating, got {beating}");

    // Stalled: after the stale threshold passes, no more pings.
    std::thread::sleep(Duration::from_millis(500));
    while count_pings(Duration::from_millis(60)) > 0 {}
    let stalled = count_pings(Duration::from_millis(800));
    assert_eq!(
        stalled, 0,
        "watchdog fed while the camera stage was stalled"
    );

    // Recovered: pings resume.
    camera.beat();
    let recovered = count_pings(Duration::from_millis(300));
    assert!(recovered >= 2, "pings did not resume, got {recovered}");

    shutdown.trigger();
    runtime.block_on(task).unwrap().unwrap();
}
