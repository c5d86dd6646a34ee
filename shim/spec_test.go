package shim

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
)

// testRootfs makes a rootfs with /app/m.wasm, /top.wasm and a symlink that
// points out of it, and a bind-mount source with /lib.wasm.
func testRootfs(t *testing.T) (rootfs, bindSrc string) {
	t.Helper()
	rootfs, bindSrc = t.TempDir(), t.TempDir()
	for _, p := range []string{filepath.Join(rootfs, "app", "m.wasm"), filepath.Join(rootfs, "top.wasm"), filepath.Join(bindSrc, "lib.wasm")} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("\x00asm"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(rootfs, "escape.wasm")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../tmp", filepath.Join(rootfs, "etc")); err != nil {
		t.Fatal(err)
	}
	return rootfs, bindSrc
}

func testSpec(bindSrc string, args ...string) *specs.Spec {
	return &specs.Spec{
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{Args: args, Cwd: "/", Env: []string{"A=1"}},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/mnt/lib", Type: "bind", Source: bindSrc, Options: []string{"rbind", "ro"}},
		},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}}},
	}
}

func TestResolveModule(t *testing.T) {
	rootfs, bindSrc := testRootfs(t)
	tests := []struct {
		name      string
		args0     string
		cwd       string
		wantPath  string
		wantEntry string
		wantErr   error
	}{
		{name: "absolute", args0: "/top.wasm", wantPath: filepath.Join(rootfs, "top.wasm")},
		{name: "relative to cwd", args0: "m.wasm", cwd: "/app", wantPath: filepath.Join(rootfs, "app", "m.wasm")},
		{name: "dot-dot stays in rootfs", args0: "../../../top.wasm", cwd: "/app", wantPath: filepath.Join(rootfs, "top.wasm")},
		{name: "entrypoint suffix", args0: "/top.wasm#main", wantPath: filepath.Join(rootfs, "top.wasm"), wantEntry: "main"},
		{name: "inside a bind mount", args0: "/mnt/lib/lib.wasm", wantPath: filepath.Join(bindSrc, "lib.wasm")},
		{name: "missing", args0: "/nope.wasm", wantErr: errdefs.ErrNotFound},
		{name: "symlink out of rootfs resolves inside it", args0: "/escape.wasm", wantErr: errdefs.ErrNotFound},
		{name: "directory symlink out of rootfs", args0: "/etc/passwd", wantErr: errdefs.ErrNotFound},
		{name: "a directory", args0: "/app", wantErr: errdefs.ErrInvalidArgument},
		{name: "a function and no module", args0: "#main", wantErr: errdefs.ErrInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := testSpec(bindSrc, tc.args0)
			spec.Process.Cwd = tc.cwd
			opts, err := childOptions(spec, spec.Process, rootfs)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if opts.Spec.ModulePath != tc.wantPath || opts.Spec.Entrypoint != tc.wantEntry {
				t.Fatalf("module = %q#%q, want %q#%q", opts.Spec.ModulePath, opts.Spec.Entrypoint, tc.wantPath, tc.wantEntry)
			}
			if opts.Spec.Args[0] != tc.args0 {
				t.Fatalf("argv[0] = %q, want it as the spec gave it", opts.Spec.Args[0])
			}
		})
	}
}

func TestPreopensAreRootfsAndBindMounts(t *testing.T) {
	rootfs, bindSrc := testRootfs(t)
	spec := testSpec(bindSrc, "/top.wasm")
	spec.Root.Readonly = true
	opts, err := childOptions(spec, spec.Process, rootfs)
	if err != nil {
		t.Fatal(err)
	}
	p := opts.Spec.Preopens
	if len(p) != 2 {
		t.Fatalf("preopens = %+v, want rootfs and the bind mount only", p)
	}
	if p[0].HostPath != rootfs || p[0].GuestPath != "/" || !p[0].ReadOnly {
		t.Fatalf("rootfs preopen = %+v", p[0])
	}
	if p[1].HostPath != bindSrc || p[1].GuestPath != "/mnt/lib" || !p[1].ReadOnly {
		t.Fatalf("bind preopen = %+v", p[1])
	}
}

func TestEnvIsTheSpecsOnlyPlusPWD(t *testing.T) {
	rootfs, bindSrc := testRootfs(t)
	t.Setenv("SHIM_TEST_HOST_VAR", "leak")
	spec := testSpec(bindSrc, "m.wasm")
	spec.Process.Cwd = "/app"
	opts, err := childOptions(spec, spec.Process, rootfs)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"A=1", "PWD=/app"}; !slices.Equal(opts.Spec.Env, want) {
		t.Fatalf("env = %q, want %q", opts.Spec.Env, want)
	}
	if !slices.Equal(spec.Process.Env, []string{"A=1"}) {
		t.Fatal("the spec's env was modified")
	}
}

func TestBadProcessIsRefused(t *testing.T) {
	rootfs, bindSrc := testRootfs(t)
	tests := map[string]func(*specs.Spec){
		"no args":     func(s *specs.Spec) { s.Process.Args = nil },
		"NUL in args": func(s *specs.Spec) { s.Process.Args = []string{"/top.wasm", "a\x00b"} },
		"NUL in env":  func(s *specs.Spec) { s.Process.Env = []string{"A=\x00"} },
		"user ns": func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		},
		"join a mount ns": func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.MountNamespace, Path: "/proc/1/ns/mnt"})
		},
		"nil process": func(s *specs.Spec) { s.Process = nil },
		"join a time ns": func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace, Path: "/proc/1/ns/time"})
		},
		"time offsets": func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 3600}}
		},
		"unknown mount type": func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "weirdfs", Source: "none"})
		},
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			spec := testSpec(bindSrc, "/top.wasm")
			mutate(spec)
			_, err := childOptions(spec, spec.Process, rootfs)
			if err == nil {
				t.Fatal("no error")
			}
			if !errdefs.IsInvalidArgument(err) && !errdefs.IsNotImplemented(err) {
				t.Fatalf("error %v is neither InvalidArgument nor NotImplemented", err)
			}
		})
	}
}

func TestCloneflagsAndCredential(t *testing.T) {
	rootfs, bindSrc := testRootfs(t)
	spec := testSpec(bindSrc, "/top.wasm")
	spec.Process.User = specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{5}}
	opts, err := childOptions(spec, spec.Process, rootfs)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Cloneflags != syscall.CLONE_NEWPID|syscall.CLONE_NEWNS {
		t.Fatalf("cloneflags = %#x", opts.Cloneflags)
	}
	u := opts.Spec.User
	if u.UID != 1000 || u.GID != 1001 || !slices.Equal(u.AdditionalGids, []uint32{5}) {
		t.Fatalf("user = %+v", u)
	}
}

// Docker gives every container a time namespace with no offsets; the
// child unshares it before its exec (clone cannot take its flag).
func TestTimeNamespaceIsUnshared(t *testing.T) {
	rootfs, bindSrc := testRootfs(t)
	spec := testSpec(bindSrc, "/top.wasm")
	spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
	spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {}}
	opts, err := childOptions(spec, spec.Process, rootfs)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Unshareflags != unix.CLONE_NEWTIME || opts.Cloneflags != syscall.CLONE_NEWPID|syscall.CLONE_NEWNS {
		t.Fatalf("unshare %#x, clone %#x; want a new time namespace by unshare only", opts.Unshareflags, opts.Cloneflags)
	}
}

func TestNamespacesByPathAreJoined(t *testing.T) {
	rootfs, bindSrc := testRootfs(t)
	spec := testSpec(bindSrc, "/top.wasm")
	spec.Linux.Namespaces = append(spec.Linux.Namespaces,
		specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/var/run/netns/pod"},
		specs.LinuxNamespace{Type: specs.UTSNamespace, Path: "/proc/42/ns/uts"},
	)
	opts, err := childOptions(spec, spec.Process, rootfs)
	if err != nil {
		t.Fatal(err)
	}
	want := []taskchild.Namespace{{Type: syscall.CLONE_NEWNET, Path: "/var/run/netns/pod"}, {Type: syscall.CLONE_NEWUTS, Path: "/proc/42/ns/uts"}}
	if !slices.Equal(opts.Join, want) || opts.Cloneflags != syscall.CLONE_NEWPID|syscall.CLONE_NEWNS {
		t.Fatalf("join %+v, cloneflags %#x; want %+v and new pid and mount namespaces", opts.Join, opts.Cloneflags, want)
	}
}

func TestReadBundleSpecErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := readBundleSpec(dir); err == nil || !strings.Contains(err.Error(), "read OCI spec") {
		t.Fatalf("missing config.json: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readBundleSpec(dir); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("broken config.json: %v, want InvalidArgument", err)
	}
}

func TestLinearMemoryLimitLeavesTheEngineItsReserve(t *testing.T) {
	for _, tc := range []struct{ limit, want int64 }{
		{0, 0},
		{-1, 0},
		{64 << 20, 48 << 20},
		{16 << 20, 12 << 20},
		{1 << 30, 1<<30 - 16<<20},
	} {
		spec := &specs.Spec{Linux: &specs.Linux{Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &tc.limit}}}}
		if got := linearMemoryLimit(spec); got != tc.want {
			t.Errorf("limit %d: linear memory limit %d, want %d", tc.limit, got, tc.want)
		}
	}
	if got := linearMemoryLimit(&specs.Spec{}); got != 0 {
		t.Errorf("no resources: %d, want 0", got)
	}
}

func TestMissingRootfsIsRefused(t *testing.T) {
	_, bindSrc := testRootfs(t)
	spec := testSpec(bindSrc, "/top.wasm")
	_, err := childOptions(spec, spec.Process, filepath.Join(t.TempDir(), "nope"))
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "rootfs") {
		t.Fatalf("error = %v, want InvalidArgument naming the rootfs", err)
	}
}
