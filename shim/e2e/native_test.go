package e2e

import (
	"bytes"
	"context"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/platforms"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// nativeImage holds /native, a static Linux program, /script.sh, a
// "#!/native" script, and /hello.wasm (hack/build-images.sh).
const (
	nativeImage    = "localhost/wasm/native:latest"
	nativePlatform = "linux/amd64"
)

// newNativeContainer creates a container of the native image in our
// runtime, running args, and deletes it when the test ends.
func newNativeContainer(t *testing.T, c *client.Client, ctx context.Context, id string, args []string, opts ...oci.SpecOpts) client.Container {
	t.Helper()
	i, err := c.ImageService().Get(ctx, nativeImage)
	if err != nil {
		t.Fatalf("get image %s: %v", nativeImage, err)
	}
	img := client.NewImageWithPlatform(c, i, platforms.Only(platforms.MustParse(nativePlatform)))
	unpack(t, ctx, img)
	return containerOf(t, c, ctx, img, id, append([]oci.SpecOpts{oci.WithImageConfig(img), oci.WithProcessArgs(args...)}, opts...))
}

// runNative runs args in a native container to its end and returns its
// exit status and output.
func runNative(t *testing.T, id string, args []string, opts ...oci.SpecOpts) goResult {
	t.Helper()
	c, ctx := newClient(t)
	ctr := newNativeContainer(t, c, ctx, id, args, opts...)
	var out, errOut bytes.Buffer
	task, err := ctr.NewTask(ctx, goIO(nil, &out, &errOut))
	if err != nil {
		t.Fatalf("new task %v: %v", args, err)
	}
	statusC, err := task.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	st := <-statusC
	if _, err := task.Delete(ctx); err != nil {
		t.Errorf("delete task: %v", err)
	}
	return goResult{exit: st.ExitCode(), stdout: out.String(), stderr: errOut.String()}
}

// TestNative: an ELF binary or a #! script as args[0] runs as a Linux
// container through runc in our shim, with its output, exit status, exec,
// signals, stats, and nothing left behind; a wasm module in the same image
// still goes to wasmtime.
func TestNative(t *testing.T) {
	needDaemon(t)
	t.Run("elf", func(t *testing.T) {
		id := containerID(t)
		before := snapshotLeftovers(id)
		r := runNative(t, id, []string{"/native", "echo", "hi", "there"})
		if r.exit != 0 || r.stdout != "hi there\n" || r.stderr != "stderr: hi there\n" {
			t.Errorf("native echo: exit %d, stdout %q, stderr %q", r.exit, r.stdout, r.stderr)
		}
		deleteContainer(t, id)
		expectNoLeftovers(t, before, id)
	})
	t.Run("exit-code", func(t *testing.T) {
		if r := runNative(t, containerID(t), []string{"/native", "exit", "7"}); r.exit != 7 {
			t.Errorf("native exit 7: exit %d", r.exit)
		}
	})
	t.Run("path-lookup", func(t *testing.T) {
		// A bare name is found on the process's PATH, as exec would.
		if r := runNative(t, containerID(t), []string{"native", "echo", "found"}, oci.WithEnv([]string{"PATH=/"})); r.exit != 0 || r.stdout != "found\n" {
			t.Errorf("native on PATH: exit %d, stdout %q", r.exit, r.stdout)
		}
	})
	t.Run("script", func(t *testing.T) {
		if r := runNative(t, containerID(t), []string{"/script.sh"}); r.exit != 0 || r.stdout != "script /script.sh\n" {
			t.Errorf("#! script: exit %d, stdout %q, stderr %q", r.exit, r.stdout, r.stderr)
		}
	})
	t.Run("wasm-beside", func(t *testing.T) {
		r := runNative(t, containerID(t), []string{"/hello.wasm"})
		if r.exit != 0 || !strings.Contains(r.stdout, "Hello from WebAssembly!") {
			t.Errorf("wasm in a linux image: exit %d, stdout %q", r.exit, r.stdout)
		}
	})
	t.Run("kill-exec-stats", testNativeRunning)
}

// deleteContainer removes a container and its snapshot now, for a
// leftovers check that must come before the test's cleanup.
func deleteContainer(t *testing.T, id string) {
	t.Helper()
	c, ctx := newClient(t)
	ctr, err := c.LoadContainer(ctx, id)
	if err != nil {
		t.Fatalf("load container %s: %v", id, err)
	}
	if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil {
		t.Fatalf("delete container %s: %v", id, err)
	}
}

func testNativeRunning(t *testing.T) {
	c, ctx := newClient(t)
	id := containerID(t)
	before := snapshotLeftovers(id)
	ctr := newNativeContainer(t, c, ctx, id, []string{"/native", "sleep"})
	task, err := ctr.NewTask(ctx, goIO(nil, nil, nil))
	if err != nil {
		t.Fatalf("new task: %v", err)
	}
	statusC, err := task.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	// Separate buffers: the client copies stdout and stderr concurrently.
	var out, errOut bytes.Buffer
	proc, err := task.Exec(ctx, "echo", &specs.Process{Args: []string{"/native", "echo", "from exec"}, Cwd: "/", Env: []string{"PATH=/"}}, goIO(nil, &out, &errOut))
	if err != nil {
		t.Fatalf("exec: %v", err)
	}
	execC, err := proc.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Start(ctx); err != nil {
		t.Fatalf("exec start: %v", err)
	}
	st := <-execC
	// Delete waits for the client's copy of the output.
	if _, err := proc.Delete(ctx); err != nil {
		t.Errorf("exec delete: %v", err)
	}
	if st.ExitCode() != 0 || out.String() != "from exec\n" || errOut.String() != "stderr: from exec\n" {
		t.Errorf("exec: exit %d, stdout %q, stderr %q", st.ExitCode(), out.String(), errOut.String())
	}
	if pids, err := task.Pids(ctx); err != nil || len(pids) != 1 || pids[0].Pid != task.Pid() {
		t.Errorf("pids: %v %v, want the init %d alone", pids, err, task.Pid())
	}
	if m, err := task.Metrics(ctx); err != nil || m.Data == nil {
		t.Errorf("metrics: %v %v", m, err)
	}
	if err := task.Kill(ctx, syscall.SIGTERM); err != nil {
		t.Fatalf("kill: %v", err)
	}
	select {
	case st := <-statusC:
		if st.ExitCode() != 0 {
			t.Errorf("SIGTERM: exit %d, want 0 (the program exits 0 on SIGTERM)", st.ExitCode())
		}
	case <-ctx.Done():
		t.Fatal("no exit after SIGTERM")
	}
	if _, err := task.Delete(ctx); err != nil {
		t.Errorf("delete: %v", err)
	}
	deleteContainer(t, id)
	expectNoLeftovers(t, before, id)
}
