package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	runtimeoptions "github.com/containerd/containerd/api/types/runtimeoptions/v1"
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
	st := runToExit(t, ctx, ctr, goIO(nil, &out, &errOut), nil)
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
	// runExec's delete waits for the client's copy of the output.
	st := runExec(t, ctx, task, "echo", &specs.Process{Args: []string{"/native", "echo", "from exec"}, Cwd: "/", Env: []string{"PATH=/"}}, goIO(nil, &out, &errOut))
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

// TestRuntimeOptions: the runtime's options (ctr --runtime-config-path; a
// CRI handler's options table reaches the shim the same way) name the runc
// of native containers, and a setting the shim does not know fails the
// create with its name and leaves nothing.
func TestRuntimeOptions(t *testing.T) {
	needDaemon(t)
	runc, err := writeRuncWrapper(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("binary-name", func(t *testing.T) {
		id := containerID(t)
		before := snapshotLeftovers(id)
		a := []string{"run", "--rm", "--runtime", runtimeName, "--platform", nativePlatform, "--fifo-dir", suite.daemon.fifoDir,
			"--runtime-config-path", runc.options, nativeImage, id, "/native", "echo", "hi"}
		out, errOut, exit := runCtr(t, a...)
		if exit != 0 || out != "hi\n" {
			t.Fatalf("ctr run: exit %d, stdout %q, stderr %q", exit, out, errOut)
		}
		log := runc.callsOf()
		for _, cmd := range []string{"create", "start", "delete"} {
			if !strings.Contains(log, " "+cmd+" ") {
				t.Errorf("runc was not run as %s through the options' BinaryName; its calls:\n%s", cmd, log)
			}
		}
		expectNoLeftovers(t, before, id)
	})
	t.Run("unknown-setting", func(t *testing.T) {
		id := containerID(t)
		before := snapshotLeftovers(id)
		unknown := filepath.Join(t.TempDir(), "wasm.toml")
		if err := os.WriteFile(unknown, []byte("SystemdCgroup = true\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, errOut, exit := runCtr(t, ctrRunArgs(id, []string{"--runtime-config-path", unknown}, helloModule)...)
		if exit == 0 || !strings.Contains(errOut, "SystemdCgroup") {
			t.Errorf("ctr run: exit %d, stderr %q: want a failed create naming the setting", exit, errOut)
		}
		expectNoLeftovers(t, before, id)
	})
	t.Run("missing-runc", func(t *testing.T) {
		id := containerID(t)
		c, ctx := newClient(t)
		i, err := c.ImageService().Get(ctx, nativeImage)
		if err != nil {
			t.Fatal(err)
		}
		img := client.NewImageWithPlatform(c, i, platforms.Only(platforms.MustParse(nativePlatform)))
		unpack(t, ctx, img)
		ctr, err := c.NewContainer(ctx, id, client.WithImage(img), client.WithNewSnapshot(id+"-snapshot", img),
			client.WithRuntime(runtimeName, &runtimeoptions.Options{ConfigBody: []byte("BinaryName = '/no/such/runc'\n")}),
			client.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("/native", "echo", "hi")))
		if err != nil {
			t.Fatal(err)
		}
		defer ctr.Delete(ctx, client.WithSnapshotCleanup)
		_, err = ctr.NewTask(ctx, goIO(nil, nil, nil))
		if err == nil || !strings.Contains(err.Error(), "/no/such/runc") {
			t.Errorf("new task: %v, want an error naming the runc binary", err)
		}
	})
}
