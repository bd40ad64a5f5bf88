//! Spec §7: with SENTRY_DSN set, business events reach Sentry with no personal data.
//! The "Sentry server" is a listener on 127.0.0.1 that records what it is sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::common::*;

fn fake_sentry() -> (String, Arc<Mutex<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(String::new()));
    let sink = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&body));
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}");
        }
    });
    (format!("http://public@127.0.0.1:{port}/1"), received)
}

#[test]
fn business_events_go_to_sentry_without_personal_data() {
    let c = crm();
    let (dsn, received) = fake_sentry();
    let mut sam = c.db.user();
    sam.set("SENTRY_DSN", &dsn).set("SENTRY_ENVIRONMENT", "test");
    sam.login("sam@example.com");
    sam.run(["contract", "pay", "1", "123.45"]).ok();
    sam.run([
        "client",
        "create",
        "Zoë",
        "Secretname",
        "zoe.private@example.com",
        "--phone",
        "0611223344",
    ])
    .ok();
    // a refused command sends nothing
    sam.run(["contract", "pay", "1", "99999"]).code(6);
    let got = received.lock().unwrap().clone();
    assert!(got.contains("contract.pay") && got.contains("client.create"), "{got}");
    assert!(got.contains("\"actor_role\":\"SALES\""), "{got}");
    assert_eq!(
        got.matches("\"action\":\"contract.pay\"").count(),
        1,
        "one payment succeeded: {got}"
    );
    for private in [
        "Secretname",
        "zoe.private",
        "0611223344",
        "sam@example.com",
        "123.45",
        PASSWORD,
        JWT_SECRET,
    ] {
        assert!(!got.contains(private), "sent {private}: {got}");
    }
}

#[test]
fn malformed_sentry_dsn_is_exit_7() {
    let (db, _m) = with_manager();
    let mut u = db.user();
    u.set("SENTRY_DSN", "nonsense");
    u.run(["whoami"]).code(7).stderr_has("SENTRY_DSN");
}
