// rust-server: the Rust (std only, wasm32-wasi) build of the networking
// example's HTTP server (examples/README.md, "The networking examples"). It
// serves on a listening socket that the host opened for it: the first fd of
// WASI_LISTEN_FDS, or fd 3 when that is unset.
//
//   /usr/bin/rustc --edition 2021 --target wasm32-wasi -C opt-level=s -C strip=debuginfo \
//       -o rust-server.wasm examples/net/rust/server.rs
//
// wasm32-wasi has no threads, so one thread serves every connection: std's
// TcpListener::from_raw_fd, accept (sock_accept) and set_nonblocking
// (fd_fdstat_set_flags), and a readiness loop on WASI's poll_oneoff, which
// std does not expose, so it is declared here. The same file builds for
// Linux (poll(2) instead) for the tests in examples/net/nettest.
use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::exit;

#[cfg(target_os = "wasi")]
use std::os::wasi::io::{AsRawFd, FromRawFd, RawFd};
#[cfg(unix)]
use std::os::unix::io::{AsRawFd, FromRawFd, RawFd};

const HELLO: &str = "hello from rust\n";
const DEFAULT_FILE: &str = "/data/hello.txt";
const MAX_CONNS: usize = 128;
const HEAD_CAP: usize = 8192;
const OUT_CAP: usize = 65536;

/// One fd to wait on and the directions that matter.
pub struct Interest {
    pub fd: RawFd,
    pub read: bool,
    pub write: bool,
}

#[cfg(target_os = "wasi")]
mod readiness {
    use super::Interest;
    use std::io;

    // The preview 1 layouts of subscription (48 bytes) and event (32 bytes)
    // on wasm32, for the fd_read and fd_write variants only.
    #[repr(C)]
    struct Subscription {
        userdata: u64,
        tag: u8,
        _pad: [u8; 7],
        fd: u32,
        _rest: [u8; 28],
    }

    #[repr(C)]
    struct Event {
        userdata: u64,
        error: u16,
        kind: u8,
        _pad: [u8; 5],
        nbytes: u64,
        flags: u16,
        _pad2: [u8; 6],
    }

    const EVENTTYPE_FD_READ: u8 = 1;
    const EVENTTYPE_FD_WRITE: u8 = 2;

    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    extern "C" {
        fn poll_oneoff(subs: *const Subscription, events: *mut Event, n: usize, nevents: *mut usize) -> u16;
    }

    /// wait blocks until one of interests is ready and says, for each, whether
    /// it can be read and written (an error counts as both, so that the next
    /// call on it reports the error).
    pub fn wait(interests: &[Interest]) -> io::Result<Vec<(bool, bool)>> {
        let mut subs = Vec::new();
        for (i, it) in interests.iter().enumerate() {
            for (want, tag) in [(it.read, EVENTTYPE_FD_READ), (it.write, EVENTTYPE_FD_WRITE)] {
                if want {
                    subs.push(Subscription {
                        userdata: (i as u64) << 1 | (tag == EVENTTYPE_FD_WRITE) as u64,
                        tag,
                        _pad: [0; 7],
                        fd: it.fd as u32,
                        _rest: [0; 28],
                    });
                }
            }
        }
        let mut events: Vec<Event> = Vec::with_capacity(subs.len());
        let mut n = 0usize;
        let errno = unsafe { poll_oneoff(subs.as_ptr(), events.as_mut_ptr(), subs.len(), &mut n) };
        if errno != 0 {
            return Err(io::Error::from_raw_os_error(errno as i32));
        }
        unsafe { events.set_len(n) };
        let mut ready = vec![(false, false); interests.len()];
        for ev in &events {
            let i = (ev.userdata >> 1) as usize;
            let failed = ev.error != 0 || ev.flags != 0;
            if ev.kind == EVENTTYPE_FD_WRITE || failed {
                ready[i].1 = true;
            }
            if ev.kind == EVENTTYPE_FD_READ || failed {
                ready[i].0 = true;
            }
            let _ = ev.nbytes;
        }
        Ok(ready)
    }
}

#[cfg(unix)]
mod readiness {
    use super::Interest;
    use std::io;

    #[repr(C)]
    struct PollFd {
        fd: i32,
        events: i16,
        revents: i16,
    }

    const POLLIN: i16 = 0x1;
    const POLLOUT: i16 = 0x4;
    const POLLERR: i16 = 0x8;
    const POLLHUP: i16 = 0x10;

    extern "C" {
        fn poll(fds: *mut PollFd, nfds: std::os::raw::c_ulong, timeout: i32) -> i32;
    }

    /// wait: as the WASI version, with poll(2).
    pub fn wait(interests: &[Interest]) -> io::Result<Vec<(bool, bool)>> {
        let mut fds: Vec<PollFd> = interests
            .iter()
            .map(|it| PollFd {
                fd: it.fd,
                events: if it.read { POLLIN } else { 0 } | if it.write { POLLOUT } else { 0 },
                revents: 0,
            })
            .collect();
        loop {
            if unsafe { poll(fds.as_mut_ptr(), fds.len() as _, -1) } >= 0 {
                break;
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        Ok(fds
            .iter()
            .map(|p| {
                let failed = p.revents & (POLLERR | POLLHUP) != 0;
                (p.revents & POLLIN != 0 || failed, p.revents & POLLOUT != 0 || failed)
            })
            .collect())
    }
}

struct Conn {
    stream: TcpStream,
    head: Vec<u8>,
    head_done: bool,
    out: Vec<u8>,
    out_off: usize,
    body_left: u64,
    echo: bool,
    file: Option<File>,
}

impl Conn {
    fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            head: Vec::with_capacity(1024),
            head_done: false,
            out: Vec::with_capacity(OUT_CAP),
            out_off: 0,
            body_left: 0,
            echo: false,
            file: None,
        }
    }

    fn wants(&self) -> (bool, bool) {
        let pending = self.out.len() > self.out_off;
        let read = !self.head_done || (self.body_left > 0 && (!self.echo || self.out.len() < OUT_CAP));
        // A file to send and nothing pending: the socket is writable at once.
        (read, pending || (self.head_done && self.file.is_some()))
    }

    fn respond(&mut self, status: &str, ctype: &str, len: u64) {
        let head = format!(
            "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            status, ctype, len
        );
        self.out.extend_from_slice(head.as_bytes());
    }

    fn respond_text(&mut self, status: &str, body: &str) {
        self.respond(status, "text/plain", body.len() as u64);
        self.out.extend_from_slice(body.as_bytes());
    }

    fn route(&mut self, method: &str, path: &str, file: &str) {
        match (method, path) {
            ("GET", "/") => self.respond_text("200 OK", HELLO),
            ("GET", "/file") => match File::open(file).and_then(|f| Ok((f.metadata()?.len(), f))) {
                Ok((len, f)) => {
                    self.respond("200 OK", "text/plain", len);
                    self.file = Some(f);
                }
                Err(e) => self.respond_text("404 Not Found", &format!("{}: {}\n", file, e)),
            },
            ("POST", "/echo") => {
                self.respond("200 OK", "application/octet-stream", self.body_left);
                self.echo = true;
            }
            (_, "/") | (_, "/file") | (_, "/echo") => self.respond_text("405 Method Not Allowed", "method not allowed\n"),
            _ => self.respond_text("404 Not Found", "not found\n"),
        }
    }

    /// parse handles the complete request head, head[..n] (blank line
    /// included); the bytes after it are body.
    fn parse(&mut self, n: usize, file: &str) {
        let text = String::from_utf8_lossy(&self.head[..n]).into_owned();
        let mut lines = text.split("\r\n");
        let mut parts = lines.next().unwrap_or("").split(' ');
        let (method, target, version) = (parts.next(), parts.next(), parts.next());
        let (method, target) = match (method, target, version) {
            (Some(m), Some(t), Some(v)) if v.starts_with("HTTP/1.") => (m, t),
            _ => return self.respond_text("400 Bad Request", "bad request line\n"),
        };
        let path = target.split('?').next().unwrap_or("");
        let mut expect_continue = false;
        for line in lines {
            let (name, value) = match line.split_once(':') {
                Some((n, v)) => (n.to_ascii_lowercase(), v.trim()),
                None => continue,
            };
            match name.as_str() {
                "transfer-encoding" => return self.respond_text("411 Length Required", "send a Content-Length\n"),
                "content-length" => match value.parse::<u64>() {
                    Ok(len) => self.body_left = len,
                    Err(_) => return self.respond_text("400 Bad Request", "bad Content-Length\n"),
                },
                "expect" => expect_continue = value.eq_ignore_ascii_case("100-continue"),
                _ => {}
            }
        }
        if expect_continue && self.body_left > 0 {
            self.out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        self.route(method, path, file);
        let extra = ((self.head.len() - n) as u64).min(self.body_left) as usize;
        if self.echo {
            let body = self.head[n..n + extra].to_vec();
            self.out.extend_from_slice(&body);
        }
        self.body_left -= extra as u64;
    }

    fn read_head(&mut self, file: &str) -> io::Result<bool> {
        let mut buf = [0u8; 4096];
        let room = (HEAD_CAP - self.head.len()).min(buf.len());
        let n = self.stream.read(&mut buf[..room])?;
        if n == 0 {
            return Ok(false);
        }
        let from = self.head.len().saturating_sub(3);
        self.head.extend_from_slice(&buf[..n]);
        if let Some(at) = self.head[from..].windows(4).position(|w| w == b"\r\n\r\n") {
            self.head_done = true;
            self.parse(from + at + 4, file);
        } else if self.head.len() == HEAD_CAP {
            self.head_done = true;
            self.respond_text("431 Request Header Fields Too Large", "request head too large\n");
        }
        Ok(true)
    }

    fn read_body(&mut self) -> io::Result<bool> {
        let mut buf = [0u8; 16384];
        let mut room = buf.len().min(self.body_left as usize);
        if self.echo {
            room = room.min(OUT_CAP - self.out.len());
        }
        let n = self.stream.read(&mut buf[..room])?;
        if n == 0 {
            return Ok(false); // the client gave up before sending its whole body
        }
        self.body_left -= n as u64;
        if self.echo {
            self.out.extend_from_slice(&buf[..n]);
        }
        Ok(true)
    }

    fn write_out(&mut self) -> io::Result<()> {
        while self.out_off < self.out.len() {
            let n = self.stream.write(&self.out[self.out_off..])?;
            self.out_off += n;
        }
        self.out.clear();
        self.out_off = 0;
        Ok(())
    }

    fn fill_from_file(&mut self) -> io::Result<()> {
        if let Some(f) = self.file.as_mut() {
            let mut buf = vec![0u8; OUT_CAP];
            let n = f.read(&mut buf)?;
            if n == 0 {
                self.file = None;
            }
            self.out.extend_from_slice(&buf[..n]);
        }
        Ok(())
    }

    /// step moves the connection on; Ok(false) means it is finished.
    fn step(&mut self, readable: bool, writable: bool, file: &str) -> io::Result<bool> {
        if writable {
            ignore_would_block(self.write_out())?;
        }
        if readable {
            let open = if !self.head_done {
                ignore_would_block(self.read_head(file).map(Some))?
            } else if self.body_left > 0 {
                ignore_would_block(self.read_body().map(Some))?
            } else {
                None
            };
            if open == Some(false) {
                return Ok(false);
            }
        }
        if self.head_done && self.out.len() == self.out_off && self.file.is_some() {
            self.out.clear();
            self.out_off = 0;
            self.fill_from_file()?;
        }
        // Done once the response is out and the whole request was read, so
        // that closing sends a FIN and not a reset that could cut the
        // response short.
        Ok(!(self.head_done && self.out.len() == self.out_off && self.file.is_none() && self.body_left == 0))
    }
}

/// ignore_would_block turns WouldBlock (and EINTR) into Ok(None)-like
/// defaults: the loop waits for readiness again.
fn ignore_would_block<T: Default>(r: io::Result<T>) -> io::Result<T> {
    match r {
        Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => Ok(T::default()),
        other => other,
    }
}

fn listen_fd() -> RawFd {
    match std::env::var("WASI_LISTEN_FDS") {
        Err(_) => 3,
        Ok(s) if s.is_empty() => 3,
        Ok(s) => match s.split(',').next().unwrap_or("").parse::<RawFd>() {
            Ok(fd) if fd >= 0 => fd,
            _ => {
                eprintln!("rust-server: bad WASI_LISTEN_FDS {:?}", s);
                exit(2);
            }
        },
    }
}

fn accept_all(listener: &TcpListener, conns: &mut Vec<Conn>) {
    while conns.len() < MAX_CONNS {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Err(e) = stream.set_nonblocking(true) {
                    eprintln!("rust-server: set_nonblocking: {}", e);
                    continue;
                }
                conns.push(Conn::new(stream));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => return,
            Err(e) if e.kind() == ErrorKind::ConnectionAborted => continue,
            Err(e) => {
                eprintln!("rust-server: accept: {}", e);
                return;
            }
        }
    }
}

fn main() {
    let file = std::env::var("SERVE_FILE").ok().filter(|s| !s.is_empty());
    let file = file.as_deref().unwrap_or(DEFAULT_FILE);
    let fd = listen_fd();
    // The fd was opened by the host for this module and nothing else owns it.
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    if let Err(e) = listener.set_nonblocking(true) {
        eprintln!("rust-server: listener fd {}: {}", fd, e);
        exit(1);
    }
    eprintln!("rust-server: serving on fd {}", fd);
    let mut conns: Vec<Conn> = Vec::new();
    loop {
        let mut interests: Vec<Interest> = conns
            .iter()
            .map(|c| {
                let (read, write) = c.wants();
                Interest { fd: c.stream.as_raw_fd(), read, write }
            })
            .collect();
        let listening = conns.len() < MAX_CONNS;
        if listening {
            interests.push(Interest { fd: listener.as_raw_fd(), read: true, write: false });
        }
        let ready = match readiness::wait(&interests) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("rust-server: poll: {}", e);
                exit(1);
            }
        };
        let mut i = 0;
        conns.retain_mut(|c| {
            let (r, w) = ready[i];
            i += 1;
            if !r && !w {
                return true;
            }
            c.step(r, w, file).unwrap_or(false)
        });
        if listening && ready[ready.len() - 1].0 {
            accept_all(&listener, &mut conns);
        }
    }
}
