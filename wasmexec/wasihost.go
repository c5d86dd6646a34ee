package wasmexec

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/bytecodealliance/wasmtime-go/v39"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec/wasip1"
)

// WASIHost names the WASI preview 1 host of a core module.
type WASIHost string

const (
	// WASIGo is the project's own host (package wasip1): sockets,
	// preopened listeners, and calls that allocate nothing. The default.
	WASIGo WASIHost = "go"
	// WASIWasmtime is wasmtime's own preview 1, which has no sockets.
	WASIWasmtime WASIHost = "wasmtime"
)

// ParseWASIHost reads a host's name; "" is the default, WASIGo.
func ParseWASIHost(s string) (WASIHost, error) {
	switch h := WASIHost(s); h {
	case "":
		return WASIGo, nil
	case WASIGo, WASIWasmtime:
		return h, nil
	}
	return "", fmt.Errorf("WASI host %q: want %q or %q", s, WASIGo, WASIWasmtime)
}

// ListenFDsEnv is the variable that tells a module which of its fds are
// the preopened listeners, in the order of Config.Listeners: fd[,fd...].
const ListenFDsEnv = "WASI_LISTEN_FDS"

// ErrListenersNeedGoWASI refuses listeners under wasmtime's host, whose C
// API cannot hand a module a socket.
var ErrListenersNeedGoWASI = errors.New("listening sockets need the Go WASI host: wasmtime's preview 1 cannot take sockets")

// wasiHost is the WASI preview 1 host of one module instance: link
// defines the wasi_snapshot_preview1 imports of module for the store, bind gives it
// the instance before any call, close frees what it holds after the
// module's last call.
type wasiHost interface {
	link(linker *wasmtime.Linker, store *wasmtime.Store, module *wasmtime.Module, cfg Config) error
	bind(inst *wasmtime.Instance) error
	close()
}

// newWASIHost makes the host cfg asks for.
func newWASIHost(cfg Config) (wasiHost, error) {
	host, err := ParseWASIHost(string(cfg.WASI))
	if err != nil {
		return nil, err
	}
	if host == WASIWasmtime {
		if len(cfg.Listeners) > 0 {
			return nil, ErrListenersNeedGoWASI
		}
		return wasiLinker(wasmtimeWASI), nil
	}
	return &goWASI{}, nil
}

// wasiLinker is a host that needs nothing but its definitions.
type wasiLinker func(linker *wasmtime.Linker, store *wasmtime.Store, cfg Config) error

func (f wasiLinker) link(l *wasmtime.Linker, s *wasmtime.Store, _ *wasmtime.Module, cfg Config) error {
	return f(l, s, cfg)
}
func (wasiLinker) bind(*wasmtime.Instance) error { return nil }
func (wasiLinker) close()                        {}

// wasmtimeWASI is wasmtime's own WASI preview 1.
func wasmtimeWASI(linker *wasmtime.Linker, store *wasmtime.Store, cfg Config) error {
	if err := setStoreWASI(store, cfg); err != nil {
		return err
	}
	if err := linker.DefineWasi(); err != nil {
		return fmt.Errorf("define WASI: %w", err)
	}
	return nil
}

// goWASI is the Go host. The module's stdio are the process's own, as
// with wasmtime's inherited stdio.
type goWASI struct{ host *wasip1.Host }

func (g *goWASI) link(linker *wasmtime.Linker, store *wasmtime.Store, module *wasmtime.Module, cfg Config) error {
	dirs := make([]wasip1.Dir, len(cfg.Preopens))
	for i, p := range cfg.Preopens {
		dirs[i] = wasip1.Dir{HostPath: p.HostPath, GuestPath: p.GuestPath, ReadOnly: p.ReadOnly}
	}
	host, err := wasip1.New(store, wasip1.Config{
		Args:      cfg.Args,
		Env:       withListenFDs(cfg.Env, len(dirs), len(cfg.Listeners)),
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		Dirs:      dirs,
		Listeners: cfg.Listeners,
	})
	if err != nil {
		return fmt.Errorf("configure WASI: %w", err)
	}
	g.host = host
	// Each call in the form the module imports: WasmEdge's socket
	// extension has two forms of some names (docs/wasip1-host.md).
	if err := host.DefineFor(linker, module); err != nil {
		return fmt.Errorf("define WASI: %w", err)
	}
	return nil
}

func (g *goWASI) bind(inst *wasmtime.Instance) error {
	if err := g.host.Bind(inst); err != nil {
		return fmt.Errorf("bind WASI: %w", err)
	}
	return nil
}

func (g *goWASI) close() {
	if g.host != nil {
		g.host.Close()
		g.host = nil
	}
}

// withListenFDs adds ListenFDsEnv for n listeners, which the Go host
// numbers right after stdio and the dirs preopened directories. A value
// the container set itself is replaced: it cannot know the numbers.
func withListenFDs(env []string, dirs, n int) []string {
	if n == 0 {
		return env
	}
	fds := make([]string, n)
	for i := range fds {
		fds[i] = strconv.Itoa(3 + dirs + i)
	}
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, ListenFDsEnv+"=") {
			out = append(out, kv)
		}
	}
	return append(out, ListenFDsEnv+"="+strings.Join(fds, ","))
}
