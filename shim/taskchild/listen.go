package taskchild

import (
	"fmt"
	"os"

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
		return nil, fmt.Errorf("%s: %w", listen.Env, err)
	}
	return files, nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
