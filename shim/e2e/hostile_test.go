package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestNoEscape: a module reads nothing outside its rootfs and mounts: not
// through "..", nor through symlinks that point at the host's files.
func TestNoEscape(t *testing.T) {
	needDaemon(t)
	evil := t.TempDir()
	for name, target := range map[string]string{
		"shadow":   "/etc/shadow",
		"passwd":   "/etc/passwd",
		"hostroot": "/proc/self/root/etc/passwd",
		"up":       "../../../../../../etc/passwd",
	} {
		if err := os.Symlink(target, filepath.Join(evil, name)); err != nil {
			t.Fatal(err)
		}
	}
	mount := []string{"--mount", "type=bind,src=" + evil + ",dst=/evil,options=rbind:rw"}
	for _, path := range []string{
		"/../../../../etc/passwd",
		"../../../etc/passwd",
		"/data/../../../etc/passwd",
		"/evil/shadow",
		"/evil/passwd",
		"/evil/hostroot",
		"/evil/up",
		"/evil/../../../etc/passwd",
	} {
		t.Run(strings.ReplaceAll(path, "/", "_"), func(t *testing.T) {
			out, _, exit := runCtr(t, ctrRunArgs(containerID(t), mount, demoModule, "read", path)...)
			if exit == 0 || strings.Contains(out, "root:") {
				t.Errorf("read %s: exit %d, output %q; want a refusal", path, exit, clip(out))
			}
		})
	}
}

// wasmModule assembles a module from its sections (id, contents).
func wasmModule(sections ...[]byte) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		b = append(b, s...)
	}
	return b
}

func section(id byte, contents []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(contents)))...), contents...)
}

func uleb(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			c |= 0x80
		}
		b = append(b, c)
		if v == 0 {
			return b
		}
	}
}

var (
	voidType    = section(1, []byte{1, 0x60, 0, 0})
	exportStart = section(7, append(append([]byte{1}, uleb(6)...), append([]byte("_start"), 0, 0)...))
)

// manyFunctions is a module with n empty functions.
func manyFunctions(n int) []byte {
	funcs := append(uleb(uint64(n)), bytes.Repeat([]byte{0}, n)...)
	code := append(uleb(uint64(n)), bytes.Repeat([]byte{2, 0, 0x0b}, n)...)
	return wasmModule(voidType, section(3, funcs), exportStart, section(10, code))
}

// hugeMemory is a module that asks for 4 GiB of memory up front and puts
// a data segment at its end.
func hugeMemory() []byte {
	mem := append([]byte{1, 0}, uleb(65536)...)
	// One segment, memory 0, offset i32.const -4 (the last 4 bytes of 4 GiB).
	data := []byte{1, 0, 0x41, 0x7c, 0x0b, 4, 'd', 'a', 't', 'a'}
	return wasmModule(voidType, section(3, []byte{1, 0}), section(5, mem), exportStart, section(10, []byte{1, 2, 0, 0x0b}), section(11, data))
}

// TestMonstrousModules: a module with more functions than wasm allows, or
// whose memory exceeds the container's limit, is refused at create with a
// clear error, and the node goes on running tasks.
func TestMonstrousModules(t *testing.T) {
	needDaemon(t)
	dir := t.TempDir()
	mods := map[string][]byte{"manyfuncs.wasm": manyFunctions(1_000_001), "hugemem.wasm": hugeMemory()}
	for name, b := range mods {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mount := []string{"--mount", "type=bind,src=" + dir + ",dst=/gen,options=rbind:ro", "--memory-limit", "67108864"}
	for _, tc := range []struct{ module, want string }{
		{"/gen/manyfuncs.wasm", "functions count exceeds limit"},
		{"/gen/hugemem.wasm", "exceeds memory limits"},
	} {
		t.Run(filepath.Base(tc.module), func(t *testing.T) {
			id := containerID(t)
			before := snapshotLeftovers(id)
			_, errOut, exit := runCtr(t, ctrRunArgs(id, mount, tc.module)...)
			if exit == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want a refusal that mentions %q", exit, errOut, tc.want)
			}
			removeContainer(t, id)
			expectNoLeftovers(t, before, id)
		})
	}
	if out, _, exit := runCtr(t, ctrRunArgs(containerID(t), nil, helloModule)...); exit != 0 || !strings.Contains(out, "Hello") {
		t.Errorf("hello after the refusals: exit %d, %q", exit, out)
	}
}

// TestMalformedSpecs: specs the shim cannot honour fail NewTask with an
// error that names the problem, and leave nothing behind.
func TestMalformedSpecs(t *testing.T) {
	needDaemon(t)
	for _, tc := range []struct {
		name string
		args []string
		opts []oci.SpecOpts
		want string
	}{
		{name: "NUL in args", args: []string{helloModule, "a\x00b"}, want: "NUL"},
		{name: "path escaping the rootfs", args: []string{"../../../../usr/bin/env"}, want: "not found"},
		{name: "unknown mount type", args: []string{helloModule}, want: "weirdfs", opts: []oci.SpecOpts{
			oci.WithMounts([]specs.Mount{{Destination: "/x", Type: "weirdfs", Source: "none"}}),
		}},
		{name: "empty module path", args: []string{""}, want: "args[0] is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ctx := newClient(t)
			id := containerID(t)
			before := snapshotLeftovers(id)
			ctr := newContainer(t, c, ctx, id, tc.args, tc.opts...)
			task, err := ctr.NewTask(ctx, goIO(nil, nil, nil))
			if err == nil {
				task.Delete(ctx, client.WithProcessKill)
				t.Fatalf("NewTask accepted %v", tc.args)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			expectNoLeftovers(t, before, id)
		})
	}
}
