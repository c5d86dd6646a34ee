package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"time"

	"github.com/containerd/errdefs"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec"
)

// wasmEngine is the seam between the shim's task child and wasmtime.
type wasmEngine struct{}

func (wasmEngine) Prepare(s taskchild.Spec) (taskchild.Program, error) {
	host, err := wasmexec.ParseWASIHost(s.WASIHost)
	if err != nil {
		return nil, err
	}
	cfg := wasmexec.Config{
		WASI:           host,
		Listeners:      s.Listeners,
		ModulePath:     s.ModulePath,
		Args:           s.Args,
		Env:            s.Env,
		Entrypoint:     s.Entrypoint,
		CacheDir:       s.CacheDir,
		CacheMaxBytes:  s.CacheMaxBytes,
		MaxMemoryBytes: s.MaxMemoryBytes,
	}
	for _, p := range s.Preopens {
		cfg.Preopens = append(cfg.Preopens, wasmexec.Preopen{HostPath: p.HostPath, GuestPath: p.GuestPath, ReadOnly: p.ReadOnly})
	}
	prog, err := wasmexec.Prepare(cfg)
	if err != nil {
		return nil, classify(err)
	}
	if proxy, ok := prog.(wasmexec.HTTPProxy); ok {
		return wasmServer{wasmProgram{prog}, proxy}, nil
	}
	return wasmProgram{prog}, nil
}

// errorClasses are the errdefs classes that containerd reports for
// wasmexec's errors, first match first.
var errorClasses = []struct{ err, class error }{
	{wasmexec.ErrNotWasm, errdefs.ErrInvalidArgument},
	{wasmexec.ErrUnsupportedImport, errdefs.ErrInvalidArgument},
	{wasmexec.ErrNoEntrypoint, errdefs.ErrNotFound},
	{fs.ErrNotExist, errdefs.ErrNotFound},
	{fs.ErrPermission, errdefs.ErrPermissionDenied},
}

// classify gives a Prepare error its class. What wasmexec refuses
// otherwise is the module the image brought (it does not compile, or
// does not link against WASI): an invalid argument, not an unknown fault.
func classify(err error) error {
	for _, c := range errorClasses {
		if errors.Is(err, c.err) {
			return taskchild.Classify(err, c.class)
		}
	}
	return taskchild.Classify(err, errdefs.ErrInvalidArgument)
}

// wasmProgram reports a wasmexec run in the task child's terms.
type wasmProgram struct{ p wasmexec.Program }

// Describe says where the module's machine code came from, for the shim's
// log, "cache hit (compile 0s, load 3ms)" for instance, with why the cache
// failed or an entry was replaced when it did or was.
func (w wasmProgram) Describe() string {
	st := w.p.Stats()
	d := fmt.Sprintf("cache %s (compile %v, load %v)", st.Cache, st.Compile.Round(time.Millisecond), st.Load.Round(time.Millisecond))
	if st.CacheErr != nil {
		d += ": " + st.CacheErr.Error()
	}
	if st.Discarded != nil {
		d += "; replaced a bad entry: " + st.Discarded.Error()
	}
	return d
}

func (w wasmProgram) Run(stderr io.Writer) taskchild.Result {
	status := w.p.Run(stderr)
	return taskchild.Result{Status: status, OutOfMemory: w.p.MemoryLimitReached()}
}

// wasmServer is a wasi:http/proxy component, which the task child serves
// instead of running.
type wasmServer struct {
	wasmProgram
	proxy wasmexec.HTTPProxy
}

var _ taskchild.Server = wasmServer{}

func (w wasmServer) Serve(l net.Listener, opts taskchild.ServeOptions) error {
	return w.proxy.Serve(l, wasmexec.ServeOptions{
		Stop:   opts.Stop,
		Grace:  opts.Grace,
		Stdout: opts.Stdout,
		Stderr: opts.Stderr,

		MaxInFlight: opts.MaxInFlight,
	})
}
