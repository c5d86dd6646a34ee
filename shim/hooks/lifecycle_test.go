package hooks

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestContainerSteps: each step runs its own hooks (prestart before
// createRuntime), with the status the spec gives that step, and where the
// step runs them.
func TestContainerSteps(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("startContainer hooks chroot, which needs root")
	}
	rootfs, bundle, out := t.TempDir(), t.TempDir(), t.TempDir()
	data, err := os.ReadFile(helper)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "helper"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	rec := func(name string) []specs.Hook { return []specs.Hook{hook("record", filepath.Join(out, name))} }
	c := &Container{
		ID: "c1", Bundle: bundle, Annotations: map[string]string{"k": "v"}, Rootfs: rootfs,
		Hooks: &specs.Hooks{
			Prestart:        rec("prestart"),
			CreateRuntime:   rec("createRuntime"),
			CreateContainer: rec("createContainer"),
			StartContainer:  []specs.Hook{{Path: "/helper", Args: []string{"helper", "record", "/startContainer"}}},
			Poststart:       rec("poststart"),
			Poststop:        rec("poststop"),
		},
	}
	ctx := context.Background()
	steps := []struct {
		record string // where the step's hook recorded
		run    func() error
		status specs.ContainerState
		pid    int
		cwd    string
	}{
		{filepath.Join(out, "prestart"), func() error { return c.CreateRuntime(ctx, 100) }, specs.StateCreating, 100, bundle},
		{filepath.Join(out, "createRuntime"), func() error { return nil }, specs.StateCreating, 100, bundle},
		{filepath.Join(out, "createContainer"), func() error { return c.CreateContainer(ctx, 1) }, specs.StateCreating, 1, rootfs},
		{filepath.Join(rootfs, "startContainer"), func() error { return c.StartContainer(ctx, 1, nil, []string{"A=b"}) }, specs.StateCreated, 1, "/"},
		{filepath.Join(out, "poststart"), func() error { return c.Poststart(ctx, 100) }, specs.StateRunning, 100, bundle},
		{filepath.Join(out, "poststop"), func() error { return c.Poststop(ctx) }, specs.StateStopped, 0, bundle},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatal(err)
		}
		r := readRecord(t, s.record)
		want := NewState("c1", bundle, map[string]string{"k": "v"}, s.status, s.pid)
		got := decodeState(t, r.Stdin)
		if got.Status != want.Status || got.Pid != want.Pid || got.ID != want.ID || got.Bundle != want.Bundle || got.Annotations["k"] != "v" {
			t.Errorf("%s: state %+v, want %+v", s.record, got, want)
		}
		if r.Cwd != s.cwd {
			t.Errorf("%s: cwd %s, want %s", s.record, r.Cwd, s.cwd)
		}
	}
	if r := readRecord(t, filepath.Join(rootfs, "startContainer")); len(r.Env) != 1 || r.Env[0] != "A=b" {
		t.Errorf("a startContainer hook without env got %q, want the process's", r.Env)
	}
}

func TestNilContainer(t *testing.T) {
	var c *Container
	ctx := context.Background()
	for _, err := range []error{c.CreateRuntime(ctx, 1), c.CreateContainer(ctx, 1), c.StartContainer(ctx, 1, nil, nil), c.Poststart(ctx, 1), c.Poststop(ctx)} {
		if err != nil {
			t.Errorf("a nil container's hooks failed: %v", err)
		}
	}
}
