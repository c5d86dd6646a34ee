// rust-demo: the Rust (wasm32-wasi) build of the toolchain demo that
// examples/README.md specifies. No crates: Debian's rustc 1.63 alone builds it.
//
//   rustc --edition 2021 --target wasm32-wasi -C opt-level=s -C strip=debuginfo \
//       -o rust-demo.wasm examples/rust/main.rs
use std::fs;
use std::io::{self, Read, Write};
use std::process;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const USAGE: &str = "usage: wasi-demo args|env|random N|clock|rw PATH|echo|exit N";
const RW_CONTENT: &str = "hello from wasi-demo";
const MAX_RANDOM: u32 = 1024;

// std has no public random source; the WASI call is one import away.
#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    fn random_get(buf: *mut u8, len: usize) -> u16;
}

enum Error {
    Usage,
    Failed(String),
}

fn main() {
    // args_os: std::env::args panics on an argument that is not UTF-8.
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match run(&args) {
        Ok(()) => {}
        Err(Error::Usage) => {
            eprintln!("{}", USAGE);
            process::exit(2);
        }
        Err(Error::Failed(msg)) => {
            eprintln!("wasi-demo: {}", msg);
            process::exit(1);
        }
    }
}

fn run(args: &[String]) -> Result<(), Error> {
    let rest: Vec<&str> = args.iter().skip(2).map(|s| s.as_str()).collect();
    match (args.get(1).map(|s| s.as_str()), rest.as_slice()) {
        (Some("args"), _) => print_args(args),
        (Some("env"), []) => print_env(),
        (Some("random"), [n]) => random(n),
        (Some("clock"), []) => clock(),
        (Some("rw"), [path]) => rw(path),
        (Some("echo"), []) => echo(),
        (Some("exit"), [n]) => process::exit(number(n, 255)? as i32),
        _ => Err(Error::Usage),
    }
}

fn print_args(args: &[String]) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    writeln!(out, "argc={}", args.len()).map_err(failed("args"))?;
    for (i, a) in args.iter().enumerate() {
        writeln!(out, "argv[{}]={}", i, a).map_err(failed("args"))?;
    }
    Ok(())
}

fn print_env() -> Result<(), Error> {
    let mut env: Vec<String> = std::env::vars_os()
        .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
        .collect();
    env.sort();
    let mut out = io::stdout().lock();
    for kv in env {
        writeln!(out, "{}", kv).map_err(failed("env"))?;
    }
    Ok(())
}

/// number parses a decimal 0..=max made of digits only, as every demo does.
fn number(s: &str, max: u32) -> Result<u32, Error> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(Error::Usage);
    }
    let n: u32 = s.parse().map_err(|_| Error::Usage)?;
    if n > max {
        return Err(Error::Usage);
    }
    Ok(n)
}

fn random(arg: &str) -> Result<(), Error> {
    let mut buf = vec![0u8; number(arg, MAX_RANDOM)? as usize];
    let errno = unsafe { random_get(buf.as_mut_ptr(), buf.len()) };
    if errno != 0 {
        return Err(Error::Failed(format!("random: errno {}", errno)));
    }
    let hex: String = buf.iter().map(|b| format!("{:02x}", b)).collect();
    println!("{}", hex);
    Ok(())
}

fn clock() -> Result<(), Error> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| Error::Failed(format!("clock: {}", e)))?;
    if now.as_secs() < 1_577_836_800 {
        return Err(Error::Failed(format!("clock: realtime {:?} is before 2020", now)));
    }
    let start = Instant::now();
    thread::sleep(Duration::from_millis(10));
    let d = start.elapsed();
    if d < Duration::from_millis(10) {
        return Err(Error::Failed(format!("clock: monotonic advanced {:?} across a 10ms sleep", d)));
    }
    println!("clock ok");
    Ok(())
}

fn rw(path: &str) -> Result<(), Error> {
    fs::write(path, RW_CONTENT).map_err(failed("rw: create"))?;
    println!("created {}", path);
    let got = fs::read_to_string(path).map_err(failed("rw: read"))?;
    println!("read: {}", got);
    fs::remove_file(path).map_err(failed("rw: delete"))?;
    println!("deleted {}", path);
    Ok(())
}

fn echo() -> Result<(), Error> {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut stdin, mut stdout) = (io::stdin().lock(), io::stdout().lock());
    loop {
        let n = stdin.read(&mut buf).map_err(failed("echo"))?;
        if n == 0 {
            return stdout.flush().map_err(failed("echo"));
        }
        stdout.write_all(&buf[..n]).map_err(failed("echo"))?;
    }
}

fn failed(what: &'static str) -> impl Fn(io::Error) -> Error {
    move |e| Error::Failed(format!("{}: {}", what, e))
}
