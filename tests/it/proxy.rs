//! A TCP forwarder with faults on demand, put between a client and a server (the CLI and
//! `epicevents serve`, or anything and PostgreSQL): it loses an answer, or swallows
//! everything like a server that does not answer at all.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Fault {
    /// Everything forwarded.
    None,
    /// A request whose bytes contain `needle` is forwarded, then its answer is dropped and the
    /// client's connection closed (`times` times, then forwarded again).
    DropAnswer { needle: Vec<u8>, times: usize },
    /// The first request whose bytes contain `needle` is forwarded and its answer dropped
    /// (as `DropAnswer`); every later one is answered `503` by the proxy itself, as a server
    /// whose database went down in the meantime would, and not forwarded.
    LoseThenUnavailable { needle: Vec<u8> },
    /// Nothing forwarded either way, connections accepted and left hanging: a server that
    /// does not answer at all.
    BlackHole,
}

pub struct Proxy {
    pub port: u16,
    fault: Arc<Mutex<Fault>>,
    /// How many answers were dropped so far.
    dropped: Arc<Mutex<usize>>,
}

impl Proxy {
    /// A proxy to `127.0.0.1:upstream`.
    pub fn to(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let fault = Arc::new(Mutex::new(Fault::None));
        let dropped = Arc::new(Mutex::new(0));
        let (f, d) = (fault.clone(), dropped.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (f, d) = (f.clone(), d.clone());
                std::thread::spawn(move || serve(client, upstream, f, d));
            }
        });
        Proxy { port, fault, dropped }
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    pub fn dropped(&self) -> usize {
        *self.dropped.lock().unwrap()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// What a server whose database is down answers (`LoseThenUnavailable`).
const UNAVAILABLE: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
    Content-Length: 62\r\nConnection: close\r\n\r\n\
    {\"kind\":\"unavailable\",\"message\":\"the database is unavailable\"}";

fn current(f: &Mutex<Fault>) -> Fault {
    f.lock().unwrap().clone()
}

fn serve(client: TcpStream, upstream: u16, fault: Arc<Mutex<Fault>>, dropped: Arc<Mutex<usize>>) {
    if matches!(current(&fault), Fault::BlackHole) {
        hang(&client, &fault);
        return;
    }
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { return };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let lose = Arc::new(AtomicBool::new(false));
    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let (f2, l2) = (fault.clone(), lose.clone());
    // server to client: dropped when the request asked for it
    let back = std::thread::spawn(move || pump(s2, c2, &f2, &l2, None));
    pump(client, server, &fault, &lose, Some(&dropped));
    let _ = back.join();
}

/// Holds a connection without a word until the fault changes (then closes it).
fn hang(s: &TcpStream, fault: &Mutex<Fault>) {
    while matches!(current(fault), Fault::BlackHole) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = s.shutdown(Shutdown::Both);
}

/// Copies `from` to `to`. The client's side (`dropped` given) looks for the needle of a
/// `DropAnswer`; the server's side then reads the answer and drops it, closing both ends.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    fault: &Mutex<Fault>,
    lose: &AtomicBool,
    dropped: Option<&Mutex<usize>>,
) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buf = vec![0u8; 64 * 1024];
    let mut seen: Vec<u8> = Vec::new();
    loop {
        if matches!(current(fault), Fault::BlackHole) {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(_) => break,
        };
        // swallowed, if the fault came while this read waited
        if matches!(current(fault), Fault::BlackHole) {
            continue;
        }
        if dropped.is_none() && lose.load(Ordering::SeqCst) {
            // the answer came: lost, and the client's connection with it
            break;
        }
        if let Some(d) = dropped {
            seen.extend_from_slice(&buf[..n]);
            let mut f = fault.lock().unwrap();
            let holds = |needle: &[u8]| seen.windows(needle.len()).any(|w| w == needle);
            match &mut *f {
                Fault::DropAnswer { needle, times } if *times > 0 && holds(needle) => {
                    *times -= 1;
                    *d.lock().unwrap() += 1;
                    lose.store(true, Ordering::SeqCst);
                    seen.clear();
                }
                Fault::LoseThenUnavailable { needle } if holds(needle) => {
                    if *d.lock().unwrap() > 0 {
                        let _ = from.write_all(UNAVAILABLE);
                        break;
                    }
                    *d.lock().unwrap() += 1;
                    lose.store(true, Ordering::SeqCst);
                    seen.clear();
                }
                _ => {}
            }
            // keep the end only, for a needle cut across two reads
            if seen.len() > 4096 {
                seen.drain(..seen.len() - 4096);
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
