package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	taskapi "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/cgroups"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
)

// stubPlatform plays the host for the service's unit tests: its children
// are stubChilds that "run" the module named by args[1] (see stubChild),
// its cgroups stubCgroups.
type stubPlatform struct {
	spawnDelay  time.Duration // how long a module takes to prepare
	freezeDelay time.Duration // how long a freeze or thaw takes

	mu       sync.Mutex // guards children and cgroups
	children []*stubChild
	cgroups  []*stubCgroup
}

var stubPids atomic.Int64

func (p *stubPlatform) spawn(ctx context.Context, opts taskchild.Options) (runner, error) {
	time.Sleep(p.spawnDelay)
	args := opts.Spec.Args
	if len(args) > 1 && args[1] == "bad" {
		return nil, fmt.Errorf("compile %s: %w", opts.Spec.ModulePath, errdefs.ErrInvalidArgument)
	}
	c := &stubChild{pid: int(1000 + stubPids.Add(1)), done: make(chan struct{})}
	if len(args) > 2 && args[1] == "exit" {
		c.exitCode, _ = strconv.Atoi(args[2])
		c.exitOnStart = true
	}
	if len(args) > 1 && args[1] == "early" {
		c.finish(1) // dies before Start, as a child whose module traps at once
	}
	p.mu.Lock()
	p.children = append(p.children, c)
	p.mu.Unlock()
	return c, nil
}

func (p *stubPlatform) cgroup(path string, _ *specs.LinuxResources) (cgroups.Cgroup, error) {
	cg := &stubCgroup{path: path, delay: p.freezeDelay, plat: p}
	p.mu.Lock()
	p.cgroups = append(p.cgroups, cg)
	p.mu.Unlock()
	return cg, nil
}

// alive lists the children that were spawned and never ended.
func (p *stubPlatform) alive() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pids []int
	for _, c := range p.children {
		select {
		case <-c.done:
		default:
			pids = append(pids, c.pid)
		}
	}
	return pids
}

func (p *stubPlatform) child(pid int) *stubChild {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.children {
		if c.pid == pid {
			return c
		}
	}
	return nil
}

func (p *stubPlatform) spawned() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.children)
}

// stubChild is a task child whose module runs until a signal ends it
// ("run"), exits with a code once started ("exit N"), or dies before
// Start ("early"). In a frozen cgroup, a signal ends it only once the
// cgroup is thawed, as the cgroup v1 freezer has it.
type stubChild struct {
	pid         int
	exitOnStart bool
	exitCode    int
	once        sync.Once
	done        chan struct{}              // closed when the child has ended
	status      int                        // set before done is closed
	cg          atomic.Pointer[stubCgroup] // set by Add; an exec joins at Start, beside its signals
	pending     syscall.Signal
}

func (c *stubChild) finish(status int) {
	c.once.Do(func() { c.status = status; close(c.done) })
}

func (c *stubChild) Pid() int       { return c.pid }
func (c *stubChild) Detail() string { return "stub" }

func (c *stubChild) Start() error {
	if c.exitOnStart {
		c.finish(c.exitCode)
	}
	return nil
}

func (c *stubChild) Signal(sig syscall.Signal) error {
	select {
	case <-c.done:
		return os.ErrProcessDone
	default:
	}
	if sig == 0 {
		return nil
	}
	if cg := c.cg.Load(); cg == nil || !cg.deferSignal(c, sig) {
		c.finish(128 + int(sig))
	}
	return nil
}

func (c *stubChild) Wait() taskchild.Result {
	<-c.done
	return taskchild.Result{Status: c.status}
}

// stubCgroup is a cgroup that only keeps its books.
type stubCgroup struct {
	path  string
	delay time.Duration // how long a freeze or thaw takes
	plat  *stubPlatform

	mu      sync.Mutex // guards the fields below and each member's pending
	pids    []int
	frozen  bool
	deleted bool
}

func (g *stubCgroup) Add(pid int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pids = append(g.pids, pid)
	if c := g.plat.child(pid); c != nil {
		c.cg.Store(g)
	}
	return nil
}

// deferSignal holds sig for c while the cgroup is frozen.
func (g *stubCgroup) deferSignal(c *stubChild, sig syscall.Signal) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.frozen {
		c.pending = sig
	}
	return g.frozen
}

func (g *stubCgroup) Update(*specs.LinuxResources) error { return nil }

func (g *stubCgroup) Stats() (proto.Message, error) {
	return nil, fmt.Errorf("stub cgroup stats: %w", errdefs.ErrNotImplemented)
}

func (g *stubCgroup) Freeze() error { return g.setFrozen(true) }
func (g *stubCgroup) Thaw() error   { return g.setFrozen(false) }

// setFrozen takes effect at once; the call returns after the delay.
func (g *stubCgroup) setFrozen(frozen bool) error {
	defer time.Sleep(g.delay)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.frozen = frozen
	for _, pid := range g.pids {
		if c := g.plat.child(pid); c != nil && !frozen && c.pending != 0 {
			c.finish(128 + int(c.pending))
		}
	}
	return nil
}

func (g *stubCgroup) Pids() ([]int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.pids...), nil
}

func (g *stubCgroup) WatchOOM(context.Context, func()) error { return nil }

func (g *stubCgroup) Delete() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.deleted = true
	return nil
}

// stubPublisher collects events in the order they were published. With a
// gate, each Publish waits for it: a containerd that does not answer.
type stubPublisher struct {
	gate chan struct{}

	mu     sync.Mutex // guards events
	events []published
}

type published struct {
	topic string
	event events.Event
}

func (p *stubPublisher) Publish(ctx context.Context, topic string, event events.Event) error {
	if p.gate != nil {
		select {
		case <-p.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, published{topic, event})
	return nil
}

func (p *stubPublisher) all() []published {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]published(nil), p.events...)
}

// topics lists the topics published so far.
func (p *stubPublisher) topics() []string {
	var ts []string
	for _, e := range p.all() {
		ts = append(ts, e.topic)
	}
	return ts
}

// waitFor waits until topic has been published n times.
func (p *stubPublisher) waitFor(t *testing.T, topic string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		count := 0
		for _, e := range p.all() {
			if e.topic == topic {
				count++
			}
		}
		if count >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%s not published %d times; events: %v", topic, n, p.topics())
}

// testService is a service on a stub platform and publisher.
func testService(t *testing.T, plat *stubPlatform, pub *stubPublisher) *service {
	t.Helper()
	_ = log.SetLevel("warn") // the shim's info lines would drown the test's
	s := newService(context.Background(), pub, plat, func() {})
	t.Cleanup(func() { s.events.close(time.Second) })
	return s
}

// testBundle writes a bundle whose module's args are args (after the
// module's path) and returns the request that creates its task.
func testBundle(t *testing.T, id string, args ...string) *taskapi.CreateTaskRequest {
	t.Helper()
	bundle := t.TempDir()
	rootfs := filepath.Join(bundle, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "m.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := specs.Spec{
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{Args: append([]string{"/m.wasm"}, args...), Cwd: "/"},
		Linux:   &specs.Linux{CgroupsPath: "/stub/" + id},
	}
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return &taskapi.CreateTaskRequest{ID: id, Bundle: bundle}
}

// execRequest is an exec request's process running the stub module.
func execRequest(t *testing.T, id, execID string, args ...string) *taskapi.ExecProcessRequest {
	t.Helper()
	data, err := json.Marshal(specs.Process{Args: append([]string{"/m.wasm"}, args...), Cwd: "/"})
	if err != nil {
		t.Fatal(err)
	}
	return &taskapi.ExecProcessRequest{ID: id, ExecID: execID, Spec: processAny(data)}
}

// processAny wraps an OCI process, as JSON, the way containerd sends it.
func processAny(process []byte) *anypb.Any {
	return &anypb.Any{TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Process", Value: process}
}
