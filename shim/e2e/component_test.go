package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The WASI 0.2 component examples come from hack/build-component-examples.sh
// as one plain image (the .wasm files in a tar layer); the suite imports it
// with every other archive of the images folder.
const (
	componentsImage   = "localhost/wasm/components:latest"
	componentsArchive = "components.tar"
	// componentDemo is examples/component/main.c wrapped into a
	// wasi:cli/run command; componentDemoCore is the same program as a
	// core module; watComponent is the WAT toolchain demo, wrapped.
	componentDemo     = "/component-demo.component.wasm"
	componentDemoCore = "/component-demo.wasm"
	watComponent      = "/wat-demo.component.wasm"
	// requireComponentsVar turns a missing component image from a skip
	// into a failure; CI sets it.
	requireComponentsVar = "E2E_REQUIRE_COMPONENTS"
)

// needComponents skips t (fails it with E2E_REQUIRE_COMPONENTS set) when
// the component image was not built.
func needComponents(t *testing.T) {
	t.Helper()
	needDaemon(t)
	archive := filepath.Join(imagesDir(suite.repo), componentsArchive)
	files, err := toolchainModules(archive)
	if err != nil {
		t.Fatalf("reading %s: %v", archive, err)
	}
	for _, f := range []string{componentDemo, componentDemoCore, watComponent} {
		if files[f] {
			continue
		}
		why := fmt.Sprintf("%s is not in %s (make component-examples builds it)", f, archive)
		if os.Getenv(requireComponentsVar) == "" {
			t.Skip(why)
		}
		t.Fatalf("%s, and %s is set", why, requireComponentsVar)
	}
}

// componentRunArgs builds `ctr run --rm ... components-image ID MODULE ARGS...`.
func componentRunArgs(id string, extra []string, module string, args ...string) []string {
	a := append([]string{"run", "--rm"}, runFlags()...)
	a = append(a, extra...)
	a = append(a, componentsImage, id, module)
	return append(a, args...)
}

// TestComponentRun: a command component sees its argv, its environment
// and the files of its rootfs, and its exit reaches ctr, as a module's
// does. WASI 0.2's exit takes a result, so a component exits 0 or 1: the
// preview 1 adapter turns proc_exit(3) into exit(err).
func TestComponentRun(t *testing.T) {
	needComponents(t)
	cases := []struct {
		name   string
		flags  []string
		module string
		args   []string
		stdout string
		stderr string
		exit   int
	}{
		{name: "args", module: componentDemo, args: []string{"args", "two words", "ünïcødé"},
			stdout: "argc=4\nargv[0]=" + componentDemo + "\nargv[1]=args\nargv[2]=two words\nargv[3]=ünïcødé\n"},
		{name: "env", flags: []string{"--env", "FOO=bar", "--env", "Z=last=with=equals"}, module: componentDemo, args: []string{"env"},
			stdout: ctrDefaultPath + "\nFOO=bar\nZ=last=with=equals\n"},
		{name: "file from the rootfs", module: componentDemo, args: []string{"cat", "/data/hello.txt"},
			stdout: "hello from the component image\n"},
		{name: "missing file", module: componentDemo, args: []string{"cat", "/data/nope"},
			stderr: "component-demo: cat: No such file or directory\n", exit: 1},
		{name: "exit 0", module: componentDemo, args: []string{"exit", "0"}},
		{name: "exit 3 is exit(err)", module: componentDemo, args: []string{"exit", "3"}, exit: 1},
		{name: "wat demo args", module: watComponent, args: []string{"args", "a"},
			stdout: "argc=3\nargv[0]=" + watComponent + "\nargv[1]=args\nargv[2]=a\n"},
		{name: "wat demo rw", module: watComponent, args: []string{"rw", "/demo-rw.txt"},
			stdout: "created /demo-rw.txt\nread: hello from wasi-demo\ndeleted /demo-rw.txt\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := containerID(t)
			t.Cleanup(func() {
				if t.Failed() {
					removeContainer(t, id)
				}
			})
			stdout, stderr, exit := runCtr(t, componentRunArgs(id, tc.flags, tc.module, tc.args...)...)
			if exit != tc.exit {
				t.Errorf("exit %d, want %d (stderr %q)", exit, tc.exit, clip(stderr))
			}
			if stdout != tc.stdout {
				t.Errorf("stdout %q, want %q", clip(stdout), tc.stdout)
			}
			if tc.stderr != "" && stderr != tc.stderr {
				t.Errorf("stderr %q, want %q", clip(stderr), tc.stderr)
			}
		})
	}
}

// startComponentSpinning runs module's spin detached from the components
// image and waits until it burns CPU.
func startComponentSpinning(t *testing.T, module string) (string, int) {
	t.Helper()
	id := containerID(t)
	a := append([]string{"run", "-d"}, runFlags()...)
	a = append(a, componentsImage, id, module, "spin")
	if _, errOut, exit := runCtr(t, a...); exit != 0 {
		t.Fatalf("ctr run -d failed (%d): %s", exit, errOut)
	}
	t.Cleanup(func() { removeContainer(t, id) })
	pid, status := taskRow(t, id)
	if status != "RUNNING" {
		t.Fatalf("task %s is %s after ctr run -d, want RUNNING", id, status)
	}
	waitSpinning(t, pid)
	return id, pid
}

// killAndWait sends signal to id with ctr task kill and returns the exit
// status of its /tasks/exit event.
func killAndWait(t *testing.T, w *eventWatcher, id, signal string) int {
	t.Helper()
	if _, errOut, exit := runCtr(t, "task", "kill", "-s", signal, id); exit != 0 {
		t.Fatalf("ctr task kill -s %s: %s", signal, errOut)
	}
	e, ok := w.wait(time.Minute, exitEvent(id))
	if !ok {
		t.Fatalf("no /tasks/exit for %s within a minute of %s", id, signal)
	}
	runCtr(t, "task", "delete", id)
	return e.exitStatus()
}

// TestComponentSignals: a component in a busy loop that never calls the
// host ends on SIGTERM with 143 and on SIGKILL with 137, as a module does.
func TestComponentSignals(t *testing.T) {
	needComponents(t)
	for _, sig := range []struct {
		name string
		want int
	}{{"SIGTERM", 143}, {"SIGKILL", 137}} {
		t.Run(sig.name, func(t *testing.T) {
			w := watchEvents(t)
			id, _ := startComponentSpinning(t, componentDemo)
			if got := killAndWait(t, w, id, sig.name); got != sig.want {
				t.Errorf("exit status %d, want %d", got, sig.want)
			}
		})
	}
}

// TestComponentCache: the second run of a component loads its machine
// code from the suite's compile cache, and the shim logs it.
func TestComponentCache(t *testing.T) {
	needComponents(t)
	expectSecondRunHits(t, func(id string) []string { return componentRunArgs(id, nil, componentDemo, "args") })
}

// TestComponentBesideModule: a component and a core module (the same
// program, one wrapped and one not) run as two tasks at once, each in its
// own task child, and each ends on its own signal.
func TestComponentBesideModule(t *testing.T) {
	needComponents(t)
	w := watchEvents(t)
	compID, compPid := startComponentSpinning(t, componentDemo)
	modID, modPid := startComponentSpinning(t, componentDemoCore)
	if compPid == modPid {
		t.Fatalf("both tasks report pid %d", compPid)
	}
	for _, id := range []string{compID, modID} {
		if _, status := taskRow(t, id); status != "RUNNING" {
			t.Fatalf("task %s is %s while the other runs, want RUNNING", id, status)
		}
	}
	// While both spin, a third task (the component again) runs to the end.
	out, errOut, exit := runCtr(t, componentRunArgs(containerID(t), nil, componentDemo, "cat", "/data/hello.txt")...)
	if exit != 0 || out != "hello from the component image\n" {
		t.Errorf("component beside the two spinners: exit %d, stdout %q, stderr %q", exit, out, clip(errOut))
	}
	if got := killAndWait(t, w, compID, "SIGTERM"); got != 143 {
		t.Errorf("component: exit status %d, want 143", got)
	}
	if _, status := taskRow(t, modID); status != "RUNNING" {
		t.Errorf("module task is %s after the component's kill, want RUNNING", status)
	}
	if got := killAndWait(t, w, modID, "SIGTERM"); got != 143 {
		t.Errorf("module: exit status %d, want 143", got)
	}
}

// TestComponentLayerImage: a component shipped as a wasm-layer image (the
// component layer media type, its data file in a layer of its own) is
// imported and run; the shim places both from containerd's content store.
func TestComponentLayerImage(t *testing.T) {
	needComponents(t)
	d := suite.daemon
	dir := t.TempDir()
	data := filepath.Join(dir, "hello.txt")
	if err := os.WriteFile(data, []byte("hello from a component layer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := "localhost/wasm/e2e-component-layer-" + d.token + ":v1"
	tar := filepath.Join(dir, "component-layer.tar")
	wasmImage(t, "-shape", "wasm", "-layer-type", layerComponent, "-o", tar, "-ref", ref,
		"-entrypoint", componentDemo,
		example("components"+componentDemo)+":"+componentDemo, data+":/data/hello.txt")
	out, errOut, exit := runCtr(t, "images", "import", "--platform", wasmPlatform, tar)
	if exit != 0 {
		skipOldCtr(t, true, out+errOut)
		t.Fatalf("ctr images import: exit %d: %s", exit, errOut)
	}
	out, errOut, exit = ctrRunImage(t, ref, componentDemo, "cat", "/data/hello.txt")
	if exit != 0 || !hasLine(out, "hello from a component layer") {
		t.Errorf("cat /data/hello.txt: exit %d, stdout %q, stderr %q", exit, out, errOut)
	}
}
