//! The binary on a pseudo-terminal of our own, as a person runs it: prompts are answered
//! when they show, and a password only once the terminal has stopped echoing (read from the
//! terminal's own settings, not guessed with a sleep).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::common::{User, bin};

pub struct Pty {
    master: File,
    child: Child,
    rx: Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

const PATIENCE: Duration = Duration::from_secs(30);

impl Pty {
    /// Runs `epicevents ARGS` as `u` on a new terminal (colour allowed unless `no_color`).
    pub fn spawn(u: &User, args: &[&str], no_color: bool) -> Pty {
        let mut c = std::process::Command::new(bin());
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", u.dir())
            .env("TERM", "xterm")
            .current_dir(u.dir());
        for (k, v) in &u.envs {
            if k != "NO_COLOR" || no_color {
                c.env(k, v);
            }
        }
        Pty::spawn_command(c)
    }

    /// Runs `c` on a new terminal: its stdin, stdout and stderr, and its controlling
    /// terminal.
    pub fn spawn_command(mut c: std::process::Command) -> Pty {
        let (mut master, mut slave) = (0, 0);
        #[allow(unsafe_code)]
        // SAFETY: openpty(3) fills two descriptors we then own.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                // `*const` on Linux, `*mut` on macOS: a null `*mut` suits both
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(rc, 0, "openpty");
        #[allow(unsafe_code)]
        // SAFETY: both descriptors were just returned by openpty and are owned here.
        let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        c.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        #[allow(unsafe_code)]
        // SAFETY: setsid(2) and ioctl(TIOCSCTTY) in the child: the terminal becomes its
        // controlling terminal, as /dev/tty needs.
        unsafe {
            c.pre_exec(|| {
                libc::setsid();
                // the request's integer type differs between Linux and macOS
                libc::ioctl(0, libc::TIOCSCTTY as _, 0);
                Ok(())
            });
        }
        let child = c.spawn().unwrap();
        let mut reader = master.try_clone().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once the child has closed the terminal
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Pty { master, child, rx, seen: Vec::new() }
    }

    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    fn pump(&mut self, wait: Duration) {
        if let Ok(chunk) = self.rx.recv_timeout(wait) {
            self.seen.extend(chunk);
        }
        while let Ok(chunk) = self.rx.try_recv() {
            self.seen.extend(chunk);
        }
    }

    /// Waits until `text` has been shown; fails after 30 s.
    #[track_caller]
    pub fn expect(&mut self, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        while !self.output().contains(text) {
            assert!(Instant::now() < deadline, "never showed {text:?}: {:?}", self.output());
            self.pump(Duration::from_millis(20));
        }
    }

    /// The terminal echoes what is typed (as it should whenever no password is asked).
    pub fn echoing(&self) -> bool {
        #[allow(unsafe_code)]
        // SAFETY: tcgetattr(3) into a zeroed termios; on Linux the master reports the
        // terminal's (the slave's) settings.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            libc::tcgetattr(self.master.as_raw_fd(), &mut t);
            t.c_lflag & libc::ECHO != 0
        }
    }

    /// Waits until `prompt` shows and the terminal no longer echoes, then types `secret`.
    #[track_caller]
    pub fn type_secret(&mut self, prompt: &str, secret: &str) {
        self.hidden(prompt);
        self.send(&format!("{secret}\n"));
    }

    /// Waits until `prompt` shows and the terminal no longer echoes.
    #[track_caller]
    pub fn hidden(&mut self, prompt: &str) {
        self.expect(prompt);
        let deadline = Instant::now() + PATIENCE;
        while self.echoing() {
            assert!(Instant::now() < deadline, "echo never went off after {prompt:?}");
            self.pump(Duration::from_millis(5));
        }
    }

    /// Waits until `prompt` shows, then types `answer` (and Enter).
    #[track_caller]
    pub fn answer(&mut self, prompt: &str, answer: &str) {
        self.expect(prompt);
        self.send(&format!("{answer}\n"));
    }

    pub fn send(&mut self, s: &str) {
        self.master.write_all(s.as_bytes()).unwrap();
    }

    /// Waits for the program to end: its exit code and everything it showed.
    pub fn finish(mut self) -> (i32, String) {
        let code = self.wait();
        (code, self.output())
    }

    /// Waits for the program to end and for everything it wrote; its exit code (-1 when a
    /// signal ended it). The terminal stays open, for its settings to be read.
    pub fn wait(&mut self) -> i32 {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("still running after 30 s: {:?}", self.output());
            }
            self.pump(Duration::from_millis(20));
        };
        // everything it wrote: the reader ends when the terminal closes
        while let Ok(chunk) = self.rx.recv_timeout(PATIENCE) {
            self.seen.extend(chunk);
        }
        status.code().unwrap_or(-1)
    }
}
