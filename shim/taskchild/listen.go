package taskchild

import (
	"errors"
	"fmt"
	"os"
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
	opts := listen.Options{}
	if spec.Bind != nil {
		opts.MayBindPrivileged = spec.Bind.MayBindPrivileged
	}
	if spec.Bind != nil && spec.Bind.UnprivilegedPortStart != nil {
		opts.UnprivilegedPortStart = *spec.Bind.UnprivilegedPortStart
	} else {
		start, err := listen.ReadUnprivilegedPortStart()
		if err != nil {
			return nil, err
		}
		opts.UnprivilegedPortStart = start
	}
	files, err := listen.Open(spec.Listen, opts)
	if err != nil {
		return nil, Classify(fmt.Errorf("%s: %w", listen.Env, err), listenErrorClass(err))
	}
	return files, nil
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
