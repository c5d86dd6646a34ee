package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/platforms"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/hack/privatecontainerd"
)

const namespace = "bench"

// runtime is one way to run the example programs through containerd.
type runtime struct {
	label   string // short name in the table
	name    string // containerd runtime
	image   string
	ext     string // ".wasm" for modules
	client  *client.Client
	imgPlat string
}

func (r runtime) path(prog string) string { return "/" + prog + r.ext }

// env is what every measurement shares.
type env struct {
	d    *privatecontainerd.Daemon
	a    assets
	runc runtime
	wasm runtime
	seq  atomic.Int64
	// compiles and loads are wasmexec's own times in the floor runs.
	compiles, loads []time.Duration
	// interrupted is done after SIGINT or SIGTERM: the HTTP loads and the
	// soak stop early, so that the run cleans up and writes what it has.
	interrupted context.Context
}

func newEnv(d *privatecontainerd.Daemon, a assets) (*env, error) {
	e := &env{d: d, a: a, interrupted: context.Background()}
	var err error
	e.runc = runtime{label: "runc", name: "io.containerd.runc.v2", image: nativeImage, imgPlat: "linux/amd64"}
	e.wasm = runtime{label: "wasm", name: "io.containerd.wasm.v1", image: wasmImage, ext: ".wasm", imgPlat: "wasi/wasm"}
	for _, r := range []*runtime{&e.runc, &e.wasm} {
		plat := platforms.Only(platforms.MustParse(r.imgPlat))
		if r.client, err = client.New(d.Address, client.WithDefaultNamespace(namespace), client.WithDefaultPlatform(plat)); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (e *env) close() {
	e.runc.client.Close()
	e.wasm.client.Close()
}

func (e *env) id(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), e.seq.Add(1))
}

func (e *env) ctx() context.Context {
	return namespaces.WithNamespace(context.Background(), namespace)
}

// loadCtx is for the loads: it ends on SIGINT or SIGTERM.
func (e *env) loadCtx() context.Context {
	return namespaces.WithNamespace(e.interrupted, namespace)
}

// ctr runs the pinned ctr against the daemon.
func (e *env) ctr(args ...string) ([]byte, error) {
	cmd := exec.Command(e.d.Ctr, append([]string{"--address", e.d.Address, "--namespace", namespace}, args...)...)
	cmd.Env = append(os.Environ(), "CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.Bytes(), fmt.Errorf("ctr %s: %v: %s", strings.Join(args, " "), err, clip(out.String()))
	}
	return out.Bytes(), nil
}

func (e *env) importImages() error {
	if _, err := e.ctr("images", "import", "--platform", "linux/amd64", e.a.image("native")); err != nil {
		return err
	}
	_, err := e.ctr("images", "import", "--platform", "wasi/wasm", e.a.image("wasm"))
	return err
}

// ctrRun is `ctr run --rm` of prog, timed from exec to exit.
func (e *env) ctrRun(r runtime, prog string, want string) (time.Duration, error) {
	start := time.Now()
	out, err := e.ctr("run", "--rm", "--runtime", r.name, r.image, e.id("ctr-"+r.label), r.path(prog))
	d := time.Since(start)
	if err == nil && !strings.Contains(string(out), want) {
		err = fmt.Errorf("ctr run %s %s: output %q lacks %q", r.label, prog, clip(string(out)), want)
	}
	return d, err
}

// phases splits a Go client run into the calls that make it up.
type phases struct {
	Create  time.Duration // NewContainer: spec and snapshot
	NewTask time.Duration // shim start + task Create (the shim prepares the module here)
	// id and newTaskAt let the daemon's log split NewTask (see splitNewTask).
	id        string
	newTaskAt time.Time
	Start     time.Duration // Wait + Start
	Exit      time.Duration // Start returned -> exit status received
	Delete    time.Duration // task and container (with snapshot) deleted
}

func (p phases) total() time.Duration { return p.Create + p.NewTask + p.Start + p.Exit + p.Delete }

// goRun runs prog with args to completion through the Go client, as
// ctr run --rm does: create, new task, wait, start, exit, delete.
func (e *env) goRun(r runtime, prog string, args []string, stdout io.Writer, extra ...oci.SpecOpts) (phases, error) {
	var ph phases
	ctx, cancel := context.WithTimeout(e.ctx(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	ph.id = e.id("go-" + r.label)
	ctr, task, took, err := e.create(ctx, r, ph.id, append([]string{r.path(prog)}, args...), nil, stdout, extra...)
	ph.NewTask, ph.Create = took, time.Since(t0)-took
	ph.newTaskAt = t0.Add(ph.Create)
	if err != nil {
		return ph, err
	}
	if ph, err = finish(ctx, ctr, task, ph); err != nil {
		e.remove(ctr)
	}
	return ph, err
}

func finish(ctx context.Context, ctr client.Container, task client.Task, ph phases) (phases, error) {
	t := time.Now()
	statusC, err := task.Wait(ctx)
	if err != nil {
		return ph, err
	}
	if err := task.Start(ctx); err != nil {
		return ph, err
	}
	ph.Start = time.Since(t)
	t = time.Now()
	var st client.ExitStatus
	select {
	case st = <-statusC:
	case <-ctx.Done():
		return ph, ctx.Err()
	}
	ph.Exit = time.Since(t)
	t = time.Now()
	if _, err := task.Delete(ctx); err != nil {
		return ph, err
	}
	if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil {
		return ph, err
	}
	ph.Delete = time.Since(t)
	if st.ExitCode() != 0 {
		return ph, fmt.Errorf("exit status %d", st.ExitCode())
	}
	return ph, nil
}

// create makes the container and its task (not started). stdin may be
// nil; stdout nil discards.
func (e *env) create(ctx context.Context, r runtime, id string, args []string, stdin io.Reader, stdout io.Writer, extra ...oci.SpecOpts) (client.Container, client.Task, time.Duration, error) {
	c := r.client
	img, err := c.GetImage(ctx, r.image)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("get image %s: %w", r.image, err)
	}
	ctr, err := c.NewContainer(ctx, id,
		client.WithImage(img),
		client.WithNewSnapshot(id+"-snap", img),
		client.WithRuntime(r.name, nil),
		client.WithNewSpec(append([]oci.SpecOpts{oci.WithImageConfig(img), oci.WithProcessArgs(args...)}, extra...)...),
	)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("new container %s: %w", id, err)
	}
	if stdout == nil {
		stdout = io.Discard
	}
	t := time.Now()
	task, err := ctr.NewTask(ctx, cio.NewCreator(cio.WithStreams(stdin, stdout, io.Discard), cio.WithFIFODir(filepath.Join(e.d.Dir, "fifo"))))
	if err != nil {
		_ = ctr.Delete(ctx, client.WithSnapshotCleanup)
		return nil, nil, 0, fmt.Errorf("new task %s: %w", id, err)
	}
	return ctr, task, time.Since(t), nil
}

// remove deletes what is left of a container after a failed run.
func (e *env) remove(ctr client.Container) {
	ctx, cancel := context.WithTimeout(e.ctx(), time.Minute)
	defer cancel()
	if t, err := ctr.Task(ctx, nil); err == nil {
		_ = t.Kill(ctx, syscall.SIGKILL)
		_, _ = t.Delete(ctx, client.WithProcessKill)
	}
	_ = ctr.Delete(ctx, client.WithSnapshotCleanup)
}

func clip(s string) string {
	if len(s) > 400 {
		return s[:400] + "..."
	}
	return s
}
