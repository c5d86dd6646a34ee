package e2e

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
)

// newClient connects the Go client to the private daemon, defaulting to
// the run's namespace and to the wasi/wasm manifest of multi-platform
// images, and returns a context bounded by the test's deadline.
func newClient(t *testing.T) (*client.Client, context.Context) {
	t.Helper()
	d := suite.daemon
	wasm := platforms.Only(platforms.MustParse(wasmPlatform))
	c, err := client.New(d.Address,
		client.WithDefaultNamespace(d.ns),
		client.WithDefaultPlatform(wasm),
		client.WithTimeout(30*time.Second),
	)
	if err != nil {
		t.Fatalf("containerd client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), d.ns), 3*time.Minute)
	t.Cleanup(cancel)
	return c, ctx
}

// newContainer creates a wasm container from the testdata image running
// args (args[0] is the module path inside the image) and deletes it, with
// its snapshot, when the test ends.
func newContainer(t *testing.T, c *client.Client, ctx context.Context, id string, args []string, opts ...oci.SpecOpts) client.Container {
	t.Helper()
	img, err := c.GetImage(ctx, testdataImage)
	if err != nil {
		t.Fatalf("get image: %v", err)
	}
	unpack(t, ctx, img)
	return containerOf(t, c, ctx, img, id, append([]oci.SpecOpts{oci.WithImageConfig(img), oci.WithProcessArgs(args...)}, opts...))
}

// unpack unpacks img unless it is: ctr import unpacks already, and this
// keeps the Go path independent of it.
func unpack(t *testing.T, ctx context.Context, img client.Image) {
	t.Helper()
	if ok, _ := img.IsUnpacked(ctx, ""); !ok {
		if err := img.Unpack(ctx, ""); err != nil {
			t.Fatalf("unpack %s: %v", img.Name(), err)
		}
	}
}

// containerOf creates a container of img in our runtime, with a snapshot
// of its own and the spec specOpts make, and deletes both when t ends.
func containerOf(t *testing.T, c *client.Client, ctx context.Context, img client.Image, id string, specOpts []oci.SpecOpts) client.Container {
	t.Helper()
	ctr, err := c.NewContainer(ctx, id,
		client.WithImage(img),
		client.WithNewSnapshot(id+"-snapshot", img),
		client.WithRuntime(runtimeName, nil),
		client.WithNewSpec(specOpts...),
	)
	if err != nil {
		t.Fatalf("new container %s: %v", id, err)
	}
	t.Cleanup(func() {
		// The test's context may be spent; cleanup gets its own.
		ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), suite.daemon.ns), time.Minute)
		defer cancel()
		if task, err := ctr.Task(ctx, nil); err == nil {
			task.Delete(ctx, client.WithProcessKill)
		}
		if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
			t.Logf("delete container %s: %v", id, err)
		}
	})
	return ctr
}

// goIO creates task IO from the given streams, with fifos in the private
// directory rather than /run/containerd/fifo.
func goIO(stdin io.Reader, stdout, stderr io.Writer) cio.Creator {
	if stdout != nil && stdout == stderr {
		// The client copies each stream in its own goroutine, and a
		// bytes.Buffer that receives both loses what one wrote when the
		// other's ReadFrom returns.
		w := &lockedWriter{w: stdout}
		stdout, stderr = w, w
	}
	return cio.NewCreator(cio.WithStreams(stdin, stdout, stderr), cio.WithFIFODir(suite.daemon.fifoDir))
}

// lockedWriter serialises writes from several goroutines. It has only
// Write, so that io.Copy into it cannot take a ReaderFrom path.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// goResult is a finished task as the Go client saw it.
type goResult struct {
	exit   uint32
	stdout string
	stderr string
}

// runGo runs args to completion through the Go client: create, wait,
// start, collect the exit status, delete. stdout may be nil for a buffer.
func runGo(t *testing.T, args []string, stdin io.Reader, stdout io.Writer, opts ...oci.SpecOpts) goResult {
	t.Helper()
	return runGoID(t, containerID(t), args, stdin, stdout, opts...)
}

func runGoID(t *testing.T, id string, args []string, stdin io.Reader, stdout io.Writer, opts ...oci.SpecOpts) goResult {
	t.Helper()
	c, ctx := newClient(t)
	ctr := newContainer(t, c, ctx, id, args, opts...)
	var outBuf, errBuf bytes.Buffer
	if stdout == nil {
		stdout = &outBuf
	}
	// Like ctr, tell the shim when our input ends: runc's shim (and ours)
	// keep the stdin fifo open until CloseIO.
	var in io.Reader
	var closer *stdinCloser
	if stdin != nil {
		closer = &stdinCloser{r: stdin, ready: make(chan struct{})}
		in = closer
	}
	st := runToExit(t, ctx, ctr, goIO(in, stdout, &errBuf), func(task client.Task) {
		if closer != nil {
			closer.close = func() { _ = task.CloseIO(ctx, client.WithStdinCloser) }
			close(closer.ready)
		}
	})
	r := goResult{exit: st.ExitCode(), stdout: outBuf.String(), stderr: errBuf.String()}
	t.Logf("go client %v -> exit %d\nstdout: %s\nstderr: %s", args, r.exit, clip(r.stdout), clip(r.stderr))
	return r
}

// runToExit creates ctr's task with ioc, starts it, waits for its exit and
// deletes it. created, if not nil, sees the task before it starts.
func runToExit(t *testing.T, ctx context.Context, ctr client.Container, ioc cio.Creator, created func(client.Task)) client.ExitStatus {
	t.Helper()
	task, err := ctr.NewTask(ctx, ioc)
	if err != nil {
		t.Fatalf("new task %s: %v", ctr.ID(), err)
	}
	if created != nil {
		created(task)
	}
	statusC, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("start %s: %v", ctr.ID(), err)
	}
	var st client.ExitStatus
	select {
	case st = <-statusC:
	case <-ctx.Done():
		t.Fatalf("task %s did not exit: %v", ctr.ID(), ctx.Err())
	}
	if _, err := task.Delete(ctx); err != nil {
		t.Errorf("delete task: %v", err)
	}
	return st
}

// stdinCloser calls CloseIO once its reader is exhausted, as ctr does.
type stdinCloser struct {
	r     io.Reader
	ready chan struct{} // closed once close is set
	close func()
	once  bool
}

func (s *stdinCloser) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == io.EOF && !s.once {
		s.once = true
		<-s.ready
		s.close()
	}
	return n, err
}
