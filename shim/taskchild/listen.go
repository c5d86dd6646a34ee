package taskchild

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/containerd/errdefs"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/listen"
)

// openListeners listens on spec.Listen in the child's own network
// namespace, the task's.
func openListeners(spec Spec) ([]*os.File, error) {
	if len(spec.Listen) == 0 {
		return nil, nil
	}
	opts, err := bindOptions(spec)
	if err != nil {
		return nil, err
	}
	files, err := listen.Open(spec.Listen, opts)
	if err != nil {
		return nil, Classify(fmt.Errorf("%s: %w", listen.Env, err), listenErrorClass(err))
	}
	return files, nil
}

// openHTTPListener listens where a Server is served, spec.HTTPProxyAddr
// or the default, in the task's network namespace, by the same rules as
// openListeners. A Server takes no WASI_TCP_LISTEN sockets: a component
// has no preview 1 descriptors to receive them, and the host provides no
// wasi:sockets to accept on them, so they are refused rather than opened
// for nothing.
func openHTTPListener(spec Spec) (net.Listener, error) {
	if len(spec.Listen) > 0 {
		return nil, Classify(fmt.Errorf("%s=%s: a wasi:http component is served at %s and takes no other listeners",
			listen.Env, strings.Join(spec.Listen, ","), listen.HTTPProxyEnv), errdefs.ErrInvalidArgument)
	}
	addr, source, err := httpProxyAddr(spec)
	if err != nil {
		return nil, Classify(err, errdefs.ErrInvalidArgument)
	}
	opts, err := bindOptions(spec)
	if err != nil {
		return nil, err
	}
	l, err := listen.Listen(addr, opts)
	if err != nil {
		return nil, Classify(fmt.Errorf("%s: %w", source, err), listenErrorClass(err))
	}
	return l, nil
}

// httpProxyAddr is the address a Server listens on, and source what an
// error names it by: the variable, or that the default was taken for
// want of it.
func httpProxyAddr(spec Spec) (addr, source string, err error) {
	value, source := spec.HTTPProxyAddr, listen.HTTPProxyEnv
	if value == "" {
		value = listen.DefaultHTTPProxyAddr
		source += " (not set: the default)"
	}
	addr, err = listen.ParseAddr(listen.HTTPProxyEnv, value)
	return addr, source, err
}

// bindOptions is what the task's user may bind: spec.Bind, with the
// unprivileged port start of the namespace when the spec sets none.
func bindOptions(spec Spec) (listen.Options, error) {
	opts := listen.Options{}
	if spec.Bind != nil {
		opts.MayBindPrivileged = spec.Bind.MayBindPrivileged
	}
	if spec.Bind != nil && spec.Bind.UnprivilegedPortStart != nil {
		opts.UnprivilegedPortStart = *spec.Bind.UnprivilegedPortStart
		return opts, nil
	}
	start, err := listen.ReadUnprivilegedPortStart()
	if err != nil {
		return opts, err
	}
	opts.UnprivilegedPortStart = start
	return opts, nil
}

// listenErrorClass tells containerd why a listener could not be opened:
// the user may not bind it, something else holds it, or it is no address
// of the task's network namespace.
func listenErrorClass(err error) error {
	switch {
	case errors.Is(err, os.ErrPermission):
		return errdefs.ErrPermissionDenied
	case errors.Is(err, syscall.EADDRINUSE):
		return errdefs.ErrFailedPrecondition
	}
	return errdefs.ErrInvalidArgument
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
