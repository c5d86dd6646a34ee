package taskchild

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

// A listener the child cannot open fails the spawn with the address and
// a class containerd can tell apart: in use, or not the user's to bind.
func TestListenerErrorsKeepTheirClass(t *testing.T) {
	busy := listenLoopback(t)
	defer busy.Close()
	start := 1024
	for _, tc := range []struct {
		addr  string
		bind  *BindPolicy
		class error
	}{
		{busy.Addr().String(), nil, errdefs.ErrFailedPrecondition},
		{"127.0.0.1:80", &BindPolicy{UnprivilegedPortStart: &start}, errdefs.ErrPermissionDenied},
		{"192.0.2.77:8080", nil, errdefs.ErrInvalidArgument},
	} {
		_, err := Spawn(context.Background(), Options{Spec: Spec{
			ModulePath: "ok", Args: []string{"/m.wasm"}, Listen: []string{tc.addr}, Bind: tc.bind,
		}})
		if err == nil || !errors.Is(err, tc.class) || !strings.Contains(err.Error(), tc.addr) {
			t.Errorf("listen on %s: %v; want %v naming the address", tc.addr, err, tc.class)
		}
	}
}
