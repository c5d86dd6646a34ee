package wasmexec

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
)

func TestParseWASIHost(t *testing.T) {
	for in, want := range map[string]WASIHost{"": WASIGo, "go": WASIGo, "wasmtime": WASIWasmtime} {
		if got, err := ParseWASIHost(in); err != nil || got != want {
			t.Errorf("ParseWASIHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseWASIHost("wasmedge"); err == nil || !strings.Contains(err.Error(), `"wasmedge"`) {
		t.Errorf("ParseWASIHost(wasmedge) = %v, want an error naming it", err)
	}
}

func TestWithListenFDs(t *testing.T) {
	env := []string{"A=1", ListenFDsEnv + "=99"}
	if got := withListenFDs(env, 2, 0); len(got) != 2 {
		t.Fatalf("no listeners changed the environment: %v", got)
	}
	got := withListenFDs(env, 2, 2)
	if want := []string{"A=1", ListenFDsEnv + "=5,6"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("withListenFDs = %v, want %v (stdio, then 2 dirs, then the listeners)", got, want)
	}
}

func listener(t *testing.T) (*os.File, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, l.Addr().String()
}

// A listener reaches the module as the fd after the preopens: the module
// accepts a connection made before it runs, and exits with the errno.
func TestListenerIsPreopenedSocket(t *testing.T) {
	f, addr := listener(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	accept := writeWat(t, `(module
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  `+procExit+`
  (func (export "_start") (call $exit (call $accept (i32.const 4) (i32.const 0) (i32.const 16)))))`)
	prog, err := Prepare(Config{
		ModulePath: accept,
		Preopens:   []Preopen{{HostPath: t.TempDir(), GuestPath: "/"}},
		Listeners:  []*os.File{f},
	})
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if status := prog.Run(&stderr); status != 0 {
		t.Fatalf("sock_accept on fd 4 gave errno %d; stderr %q", status, stderr.String())
	}
}

func TestListenersNeedTheGoHost(t *testing.T) {
	f, _ := listener(t)
	_, err := Prepare(Config{ModulePath: writeWat(t, `(module (func (export "_start")))`), WASI: WASIWasmtime, Listeners: []*os.File{f}})
	if !errors.Is(err, ErrListenersNeedGoWASI) {
		t.Fatalf("Prepare = %v, want ErrListenersNeedGoWASI", err)
	}
}
