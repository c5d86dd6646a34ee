package shim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// FuzzChildOptions feeds OCI specs (as JSON, the way they arrive in a
// bundle) to the translation into a task child's configuration. It must
// never panic, and whatever it accepts must keep the module inside the
// rootfs or a bind mount, and name only absolute guest paths.
func FuzzChildOptions(f *testing.F) {
	rootfs := f.TempDir()
	if err := os.MkdirAll(filepath.Join(rootfs, "app"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "app", "m.wasm"), []byte("\x00asm"), 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(rootfs, "out.wasm")); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{"process":{"args":["/app/m.wasm"],"cwd":"/"}}`,
		`{"process":{"args":["m.wasm","a"],"cwd":"/app","env":["A=1"]},"root":{"path":"rootfs","readonly":true}}`,
		`{"process":{"args":["../../../etc/passwd"],"cwd":"/app"}}`,
		`{"process":{"args":["/out.wasm"]}}`,
		`{"process":{"args":["/app/m.wasm#main"],"user":{"uid":1000,"gid":1000}},"linux":{"namespaces":[{"type":"pid"},{"type":"mount"}],"resources":{"memory":{"limit":67108864}}}}`,
		`{"process":{"args":["/mnt/x.wasm"]},"mounts":[{"destination":"/mnt","type":"bind","source":"/tmp","options":["rbind","ro"]}]}`,
		`{"process":{"args":["/app/m.wasm"]},"mounts":[{"destination":"/proc","type":"proc","source":"proc"},{"destination":"/x","type":"weird"}]}`,
		`{"process":{"args":["/app/m.wasm","a\u0000b"]}}`,
		`{"linux":{"namespaces":[{"type":"network","path":"/proc/1/ns/net"}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var spec specs.Spec
		if json.Unmarshal(data, &spec) != nil {
			return
		}
		opts, err := childOptions(&spec, spec.Process, rootfs)
		if err != nil {
			return
		}
		s := opts.Spec
		inside := false
		for _, p := range s.Preopens {
			if !strings.HasPrefix(p.GuestPath, "/") {
				t.Fatalf("guest path %q is not absolute", p.GuestPath)
			}
			if s.ModulePath == p.HostPath || strings.HasPrefix(s.ModulePath, strings.TrimSuffix(p.HostPath, "/")+"/") {
				inside = true
			}
		}
		if !inside {
			t.Fatalf("module %s is outside the rootfs and every mount", s.ModulePath)
		}
		for _, a := range append(append([]string{}, s.Args...), s.Env...) {
			if strings.ContainsRune(a, 0) {
				t.Fatalf("a NUL byte got through: %q", a)
			}
		}
		if s.MaxMemoryBytes < 0 {
			t.Fatalf("negative memory bound %d", s.MaxMemoryBytes)
		}
	})
}
