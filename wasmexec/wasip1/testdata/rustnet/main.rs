// rustnet accepts one client with Rust's std (TcpListener::accept is
// sock_accept on wasm32-wasi) on the preopened listener at fd 4, after
// std (through wasi-libc) has found the preopened directory at fd 3, and
// answers the client's line with the content of /greeting.txt.
//
// Built by TestRustWasip1Listener:
// rustc --edition 2021 --target wasm32-wasi -o m.wasm main.rs
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::wasi::io::FromRawFd;

fn main() {
    let greeting = std::fs::read_to_string("/greeting.txt").expect("read /greeting.txt");
    let listener = unsafe { TcpListener::from_raw_fd(4) };
    let (mut conn, _) = listener.accept().expect("accept");
    let mut line = String::new();
    BufReader::new(&conn).read_line(&mut line).expect("read line");
    conn.write_all(format!("{}{}", greeting, line).as_bytes()).expect("write");
    println!("served");
}
