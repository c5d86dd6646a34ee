package wasip1

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// wasmedgeClient is a module on WasmEdge's calls, imported under the
// names given: it opens a socket, connects to 127.0.0.1:port through the
// address record at 0x100, sends "ping", receives until 9 bytes came and
// writes them to stdout. A failing call exits with 100 + its errno.
const wasmedgeClient = `(module
  (import "wasi_snapshot_preview1" "%[1]s" (func $open (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "%[2]s" (func $connect (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "%[3]s" (func $send (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "%[4]s" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0x100) "\00\02\00\00%[5]s")
  (data (i32.const 0x200) "%[6]s")
  (data (i32.const 0x300) "ping")
  (data (i32.const 0x20) "\00\03\00\00\04\00\00\00")
  (func $check (param i32) (if (local.get 0) (then (call $exit (i32.add (i32.const 100) (local.get 0))))))
  (func (export "_start") (local $fd i32) (local $n i32)
    (call $check (call $open (i32.const 1) (i32.const 2) (i32.const 0x10)))
    (local.set $fd (i32.load (i32.const 0x10)))
    (call $check (call $connect (local.get $fd) (i32.const 0x100) (i32.const %[7]d)))
    (call $check (call $send (local.get $fd) (i32.const 0x20) (i32.const 1) (i32.const 0) (i32.const 0x14)))
    (block $done (loop $more
      (i32.store (i32.const 0x28) (i32.add (i32.const 0x400) (local.get $n)))
      (i32.store (i32.const 0x2c) (i32.sub (i32.const 256) (local.get $n)))
      (call $check (call $recv (local.get $fd) (i32.const 0x28) (i32.const 1) (i32.const 0) (i32.const 0x14) (i32.const 0x18)))
      (br_if $done (i32.eqz (i32.load (i32.const 0x14))))
      (local.set $n (i32.add (local.get $n) (i32.load (i32.const 0x14))))
      (br_if $more (i32.lt_u (local.get $n) (i32.const 9)))))
    (i32.store (i32.const 0x30) (i32.const 0x400))
    (i32.store (i32.const 0x34) (local.get $n))
    (call $check (call $write (i32.const 1) (i32.const 0x30) (i32.const 1) (i32.const 0x14)))))`

// TestWasmEdgeClientModule runs the client against a Go echo server on
// 127.0.0.1, with the V1 names and the _v2 names (whose connect takes
// the 128-byte storage form).
func TestWasmEdgeClientModule(t *testing.T) {
	srv := echoServer(t)
	for _, tc := range []struct {
		name                      string
		open, connect, send, recv string
		addrLen, addr             string
	}{
		{"V1", "sock_open", "sock_connect", "sock_send", "sock_recv", `\04\00\00\00`, `\7f\00\00\01`},
		{"V2", "sock_open_v2", "sock_connect_v2", "sock_send_v2", "sock_recv_v2", `\80\00\00\00`, `\01\00\7f\00\00\01`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wasm := wat(t, fmt.Sprintf(wasmedgeClient, tc.open, tc.connect, tc.send, tc.recv, tc.addrLen, tc.addr, srv.Port))
			out := runModule(t, wasm, Config{})
			if out.err != nil || out.status != 0 || out.stdout != "echo:ping" {
				t.Fatalf("status %d, err %v, stdout %q", out.status, out.err, out.stdout)
			}
		})
	}
}

// wasmedgeServer binds 127.0.0.1:0, listens, writes its port (a u32,
// from sock_getlocaladdr in the V2 form under the plain name) to stdout,
// accepts with WasmEdge's two-argument sock_accept and echoes the first
// 10 bytes it receives.
const wasmedgeServer = `(module
  (import "wasi_snapshot_preview1" "sock_open" (func $open (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_bind" (func $bind (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_listen" (func $listen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_getlocaladdr" (func $local (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send" (func $send (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0x100) "\00\02\00\00\04\00\00\00")
  (data (i32.const 0x200) "\7f\00\00\01")
  (data (i32.const 0x180) "\00\05\00\00\80\00\00\00")
  (data (i32.const 0x30) "\14\00\00\00\04\00\00\00")
  (func $check (param i32) (if (local.get 0) (then (call $exit (i32.add (i32.const 100) (local.get 0))))))
  (func (export "_start") (local $fd i32) (local $c i32) (local $n i32)
    (call $check (call $open (i32.const 1) (i32.const 2) (i32.const 0x10)))
    (local.set $fd (i32.load (i32.const 0x10)))
    (call $check (call $bind (local.get $fd) (i32.const 0x100) (i32.const 0)))
    (call $check (call $listen (local.get $fd) (i32.const 4)))
    (call $check (call $local (local.get $fd) (i32.const 0x180) (i32.const 0x14)))
    (if (i32.ne (i32.load16_u (i32.const 0x500)) (i32.const 1)) (then (call $exit (i32.const 99))))
    (call $check (call $write (i32.const 1) (i32.const 0x30) (i32.const 1) (i32.const 0x40)))
    (call $check (call $accept (local.get $fd) (i32.const 0x18)))
    (local.set $c (i32.load (i32.const 0x18)))
    (block $done (loop $more
      (i32.store (i32.const 0x28) (i32.add (i32.const 0x400) (local.get $n)))
      (i32.store (i32.const 0x2c) (i32.sub (i32.const 256) (local.get $n)))
      (call $check (call $recv (local.get $c) (i32.const 0x28) (i32.const 1) (i32.const 0) (i32.const 0x1c) (i32.const 0x44)))
      (br_if $done (i32.eqz (i32.load (i32.const 0x1c))))
      (local.set $n (i32.add (local.get $n) (i32.load (i32.const 0x1c))))
      (br_if $more (i32.lt_u (local.get $n) (i32.const 10)))))
    (i32.store (i32.const 0x28) (i32.const 0x400))
    (i32.store (i32.const 0x2c) (local.get $n))
    (call $check (call $send (local.get $c) (i32.const 0x28) (i32.const 1) (i32.const 0) (i32.const 0x1c)))))`

// TestWasmEdgeServerModule: bind, listen and WasmEdge's two-argument
// accept, with a Go client.
func TestWasmEdgeServerModule(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	done := make(chan outcome, 1)
	wasm := wat(t, wasmedgeServer)
	go func() {
		defer w.Close()
		done <- runModule(t, wasm, Config{Stdout: w})
	}()
	var port [4]byte
	r.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadFull(r, port[:]); err != nil {
		t.Fatalf("no port from the module: %v (%+v)", err, <-done)
	}
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", binary.LittleEndian.Uint32(port[:])), 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	c.Write([]byte("hello wasm"))
	reply := make([]byte, 10)
	if _, err := io.ReadFull(c, reply); err != nil || string(reply) != "hello wasm" {
		t.Fatalf("reply %q, %v", reply, err)
	}
	if out := <-done; out.err != nil || out.status != 0 {
		t.Fatalf("status %d, err %v, stderr %q", out.status, out.err, out.stderr)
	}
}

// TestDefineForSignatures: each name is defined in the form the module
// imports; an import in no form fails with both named.
func TestDefineForSignatures(t *testing.T) {
	link := func(imports string) error {
		module, err := wasmtime.NewModule(testEngine(), wat(t, "(module "+imports+` (memory (export "memory") 1))`))
		if err != nil {
			t.Fatal(err)
		}
		defer module.Close()
		store := wasmtime.NewStore(testEngine())
		defer store.Close()
		h, err := New(store, Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		linker := wasmtime.NewLinker(testEngine())
		defer linker.Close()
		if err := h.DefineFor(linker, module); err != nil {
			return err
		}
		_, err = linker.Instantiate(store, module)
		return err
	}
	imp := func(name, params string) string {
		return fmt.Sprintf(`(import "wasi_snapshot_preview1" %q (func (param %s) (result i32)))`, name, params)
	}
	for _, ok := range []string{
		imp("sock_accept", "i32 i32 i32"),
		imp("sock_accept", "i32 i32"),
		imp("sock_accept_v2", "i32 i32 i32"),
		imp("sock_recv_from", "i32 i32 i32 i32 i32 i32 i32"),
		imp("sock_recv_from", "i32 i32 i32 i32 i32 i32 i32 i32"),
		imp("sock_getlocaladdr", "i32 i32 i32 i32") + imp("sock_getpeeraddr", "i32 i32 i32"),
		imp("sock_getaddrinfo", "i32 i32 i32 i32 i32 i32 i32 i32"),
	} {
		if err := link(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	err := link(imp("sock_accept", "i32"))
	if err == nil || !strings.Contains(err.Error(), "wasi_snapshot_preview1.sock_accept: the module imports (i32) -> i32, the host has (i32, i32, i32) -> i32 or (i32, i32) -> i32") {
		t.Fatalf("sock_accept of one argument: %v", err)
	}
	if err := link(`(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32)))`); err == nil || !strings.Contains(err.Error(), "fd_write") {
		t.Fatalf("fd_write without a result: %v", err)
	}
	if err := link(imp("sock_nonesuch", "i32")); err == nil {
		t.Fatal("an unknown import linked")
	}
}

// TestWasmEdgeHTTPClient builds the repository's outbound client
// (examples/net/client/main.c, written against WasmEdge's imports) with
// clang and wasi-libc and fetches from a Go httptest server on 127.0.0.1,
// by address and, in its getaddrinfo build, by the name localhost.
func TestWasmEdgeHTTPClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a C module")
	}
	src, err := filepath.Abs("../../examples/net/client/main.c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); err != nil {
		t.Skipf("no client source: %v", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hello" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "hello %s over WasmEdge sockets\n", r.Header.Get("User-Agent"))
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		name  string
		flags []string
		host  string
	}{
		{"address", nil, "127.0.0.1"},
		{"getaddrinfo", []string{"-DWITH_GETADDRINFO"}, "localhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.host == "localhost" {
				if ips, err := newResolver().LookupHost(t.Context(), "localhost"); err != nil || !contains(ips, "127.0.0.1") {
					t.Skipf("localhost is not 127.0.0.1 here: %v %v", ips, err)
				}
			}
			args := append([]string{"--target=wasm32-wasi", "-O2"}, tc.flags...)
			wasm := buildWith(t, "clang", append(args, src)...)
			url := fmt.Sprintf("http://%s:%d/hello", tc.host, port)
			out := runModule(t, wasm, Config{Args: []string{"http-get", url}})
			if out.err != nil || out.status != 0 || out.stdout != "hello http-get over WasmEdge sockets\n" {
				t.Fatalf("status %d, err %v, stdout %q, stderr %q", out.status, out.err, out.stdout, out.stderr)
			}
			out = runModule(t, wasm, Config{Args: []string{"http-get", strings.TrimSuffix(url, "hello") + "missing"}})
			if out.status != 1 || !strings.Contains(out.stderr, "status 404") {
				t.Fatalf("404: status %d, err %v, stderr %q", out.status, out.err, out.stderr)
			}
		})
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
