package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	taskapi "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/containerd/v2/core/runtime"
	"github.com/containerd/containerd/v2/pkg/protobuf"
	ptypes "github.com/containerd/containerd/v2/pkg/protobuf/types"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
)

var _ taskapi.TTRPCTaskService = (*service)(nil)

// service is the task API. Errors are returned as errdefs classes and
// converted to ttrpc status once, by the server's interceptor.
type service struct {
	events   *eventQueue
	plat     platform
	shutdown func()

	mu sync.Mutex // guards containers
	// containers maps an id to its task; nil while the task is created.
	containers map[string]*container
}

// newService serves tasks on plat and sends their events to pub, from a
// queue that close drains.
func newService(ctx context.Context, pub events.Publisher, plat platform, shutdown func()) *service {
	return &service{events: newEventQueue(ctx, pub), plat: plat, shutdown: shutdown, containers: map[string]*container{}}
}

func (s *service) container(id string) (*container, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.containers[id]
	if c == nil {
		return nil, fmt.Errorf("task %s: %w", id, errdefs.ErrNotFound)
	}
	return c, nil
}

func (s *service) process(id, execID string) (*container, *process, error) {
	c, err := s.container(id)
	if err != nil {
		return nil, nil, err
	}
	p, err := c.process(execID)
	return c, p, err
}

// reserve claims id for a task being created: a second Create of it is
// refused, and no other call finds it until add.
func (s *service) reserve(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.containers[id]; ok {
		return fmt.Errorf("task %s: %w", id, errdefs.ErrAlreadyExists)
	}
	s.containers[id] = nil
	return nil
}

// add makes a created task, or nothing (a failed create), take the place
// reserved for id.
func (s *service) add(id string, c *container) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c == nil {
		delete(s.containers, id)
		return
	}
	s.containers[id] = c
}

func (s *service) Create(ctx context.Context, r *taskapi.CreateTaskRequest) (*taskapi.CreateTaskResponse, error) {
	if r.Checkpoint != "" {
		return nil, fmt.Errorf("checkpoint restore: %w", errdefs.ErrNotImplemented)
	}
	if err := s.reserve(r.ID); err != nil {
		return nil, err
	}
	c, err := s.create(ctx, r)
	s.add(r.ID, c)
	if err != nil {
		return nil, err
	}
	return &taskapi.CreateTaskResponse{Pid: uint32(c.init.pid())}, nil
}

// create makes the task and announces it; its exit, even one that came
// already, is published after its create.
func (s *service) create(ctx context.Context, r *taskapi.CreateTaskRequest) (*container, error) {
	opts, err := parseRuntimeOptions(r.Options)
	if err != nil {
		return nil, fmt.Errorf("create task %s: %w", r.ID, err)
	}
	c, err := createContainer(ctx, s.plat, r.ID, r.Bundle, r.Rootfs, stdio{r.Stdin, r.Stdout, r.Stderr, r.Terminal}, opts)
	if err != nil {
		return nil, err
	}
	c.watchOOM(ctx, func() {
		s.events.send(runtime.TaskOOMEventTopic, &eventstypes.TaskOOM{ContainerID: c.id})
	})
	c.init.life.announce(func(pid int) {
		s.events.send(runtime.TaskCreateEventTopic, &eventstypes.TaskCreate{
			ContainerID: r.ID,
			Bundle:      r.Bundle,
			Rootfs:      r.Rootfs,
			IO:          &eventstypes.TaskIO{Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr, Terminal: r.Terminal},
			Pid:         uint32(pid),
		})
	}, s.onExit(c, c.init))
	return c, nil
}

// onExit records how a process ended and tells containerd; a module stopped
// by its memory limit is an OOM, like a cgroup OOM kill. It runs under the
// process's state lock, after every event queued about it before.
func (s *service) onExit(c *container, p *process) exitHook {
	return func(res taskchild.Result, pid int, at time.Time) {
		if res.OutOfMemory {
			s.events.send(runtime.TaskOOMEventTopic, &eventstypes.TaskOOM{ContainerID: c.id})
		}
		id := c.id
		if p.id != "" {
			id = p.id
		} else {
			writeExitRecord(c.bundle, exitRecord{Pid: pid, Status: res.Status, ExitedAt: at.UnixNano()})
		}
		s.events.send(runtime.TaskExitEventTopic, &eventstypes.TaskExit{
			ContainerID: c.id,
			ID:          id,
			Pid:         uint32(pid),
			ExitStatus:  uint32(res.Status),
			ExitedAt:    protobuf.ToTimestamp(at),
		})
	}
}

func (s *service) Start(ctx context.Context, r *taskapi.StartRequest) (*taskapi.StartResponse, error) {
	c, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if p.id != "" && c.native == nil {
		if err := c.joinCgroup(p); err != nil {
			return nil, err
		}
	}
	err = p.start(func(pid int) {
		if p.id == "" {
			s.events.send(runtime.TaskStartEventTopic, &eventstypes.TaskStart{ContainerID: c.id, Pid: uint32(pid)})
			return
		}
		s.events.send(runtime.TaskExecStartedEventTopic, &eventstypes.TaskExecStarted{ContainerID: c.id, ExecID: p.id, Pid: uint32(pid)})
	})
	if err != nil {
		return nil, err
	}
	if p.id == "" {
		if err := c.poststart(ctx); err != nil {
			// As runc: a failed poststart hook fails the start and
			// kills the task.
			_ = p.kill(syscall.SIGKILL)
			return nil, err
		}
	}
	return &taskapi.StartResponse{Pid: uint32(p.pid())}, nil
}

func (s *service) Delete(ctx context.Context, r *taskapi.DeleteRequest) (*taskapi.DeleteResponse, error) {
	c, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if err := p.life.markDeleted(); err != nil {
		return nil, err
	}
	if p.id != "" {
		if err := p.destroy(ctx); err != nil {
			return nil, err
		}
		c.removeExec(p.id)
		return deleteResponse(p), nil
	}
	return s.deleteContainer(ctx, c)
}

// deleteContainer ends every process of a task that is not running,
// releases its rootfs and tells containerd, before the id can be reused.
func (s *service) deleteContainer(ctx context.Context, c *container) (*taskapi.DeleteResponse, error) {
	// A frozen process cannot act on SIGKILL: an exec left in a cgroup
	// frozen while its init ended must be let die.
	_ = c.cgroup.Thaw()
	for _, p := range c.processes() {
		if err := p.destroy(ctx); err != nil {
			return nil, fmt.Errorf("stop process %d: %w", p.pid(), err)
		}
	}
	c.deleteNative(ctx)
	c.deleteCgroup(ctx)
	c.unmountRootfs(ctx)
	c.poststop(ctx)
	resp := deleteResponse(c.init)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events.send(runtime.TaskDeleteEventTopic, &eventstypes.TaskDelete{
		ContainerID: c.id,
		Pid:         resp.Pid,
		ExitStatus:  resp.ExitStatus,
		ExitedAt:    resp.ExitedAt,
	})
	delete(s.containers, c.id)
	return resp, nil
}

func deleteResponse(p *process) *taskapi.DeleteResponse {
	snap := p.life.snapshot()
	return &taskapi.DeleteResponse{
		Pid:        uint32(snap.pid),
		ExitStatus: uint32(snap.exitStatus),
		ExitedAt:   protobuf.ToTimestamp(snap.exitedAt),
	}
}

func (s *service) Exec(ctx context.Context, r *taskapi.ExecProcessRequest) (*ptypes.Empty, error) {
	c, err := s.container(r.ID)
	if err != nil {
		return nil, err
	}
	if err := c.reserveExec(r.ExecID); err != nil {
		return nil, err
	}
	if err := s.exec(ctx, c, r); err != nil {
		c.removeExec(r.ExecID)
		return nil, err
	}
	return &ptypes.Empty{}, nil
}

// exec makes the exec reserved in c and announces it.
func (s *service) exec(ctx context.Context, c *container, r *taskapi.ExecProcessRequest) error {
	var proc specs.Process
	if r.Spec == nil || json.Unmarshal(r.Spec.Value, &proc) != nil {
		return fmt.Errorf("exec %s: unreadable process spec: %w", r.ExecID, errdefs.ErrInvalidArgument)
	}
	p, err := c.exec(ctx, r.ExecID, &proc, stdio{r.Stdin, r.Stdout, r.Stderr, r.Terminal})
	if err != nil {
		return fmt.Errorf("exec %s: %w", r.ExecID, err)
	}
	added := func(int) {
		s.events.send(runtime.TaskExecAddedEventTopic, &eventstypes.TaskExecAdded{ContainerID: c.id, ExecID: r.ExecID})
	}
	if err := c.addExec(r.ExecID, p, added, s.onExit(c, p)); err != nil {
		_ = p.destroy(ctx)
		return err
	}
	return nil
}

func (s *service) State(ctx context.Context, r *taskapi.StateRequest) (*taskapi.StateResponse, error) {
	c, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	snap := p.life.snapshot()
	return &taskapi.StateResponse{
		ID:         c.id,
		ExecID:     p.id,
		Bundle:     c.bundle,
		Pid:        uint32(snap.pid),
		Status:     taskStatus(snap.state),
		Stdin:      p.stdio.stdin,
		Stdout:     p.stdio.stdout,
		Stderr:     p.stdio.stderr,
		Terminal:   p.stdio.terminal,
		ExitStatus: uint32(snap.exitStatus),
		ExitedAt:   protobuf.ToTimestamp(snap.exitedAt),
	}, nil
}

func taskStatus(s processState) task.Status {
	switch s {
	case stateCreated:
		return task.Status_CREATED
	case stateRunning:
		return task.Status_RUNNING
	case statePaused:
		return task.Status_PAUSED
	default:
		return task.Status_STOPPED
	}
}

func (s *service) Kill(ctx context.Context, r *taskapi.KillRequest) (*ptypes.Empty, error) {
	c, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	sig := syscall.Signal(r.Signal)
	if !r.All {
		err = p.kill(sig)
	} else {
		// --all reaches every process of the task, like runc kill --all.
		for _, q := range c.processes() {
			if err = q.kill(sig); err != nil && !errdefs.IsNotFound(err) {
				return nil, err
			}
		}
		err = nil
	}
	if err == nil && sig == syscall.SIGKILL {
		s.thawForKill(c)
	}
	return &ptypes.Empty{}, err
}

// thawForKill lets a paused task die: a frozen process cannot act on
// SIGKILL until it is thawed. A pause under way is let finish first.
func (s *service) thawForKill(c *container) {
	c.init.life.awaitMove()
	if c.init.life.snapshot().state != statePaused {
		return
	}
	_ = s.setFrozen(c, moveResume)
}

func (s *service) Pids(ctx context.Context, r *taskapi.PidsRequest) (*taskapi.PidsResponse, error) {
	c, err := s.container(r.ID)
	if err != nil {
		return nil, err
	}
	infos, err := c.pids()
	if err != nil {
		return nil, err
	}
	return &taskapi.PidsResponse{Processes: infos}, nil
}

func (s *service) CloseIO(ctx context.Context, r *taskapi.CloseIORequest) (*ptypes.Empty, error) {
	_, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if r.Stdin {
		p.io.closeStdin()
	}
	return &ptypes.Empty{}, nil
}

func (s *service) ResizePty(ctx context.Context, r *taskapi.ResizePtyRequest) (*ptypes.Empty, error) {
	_, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	return &ptypes.Empty{}, p.io.resize(r.Width, r.Height)
}

func (s *service) Wait(ctx context.Context, r *taskapi.WaitRequest) (*taskapi.WaitResponse, error) {
	_, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	snap := p.life.snapshot()
	return &taskapi.WaitResponse{ExitStatus: uint32(snap.exitStatus), ExitedAt: protobuf.ToTimestamp(snap.exitedAt)}, nil
}

func (s *service) Connect(ctx context.Context, r *taskapi.ConnectRequest) (*taskapi.ConnectResponse, error) {
	resp := &taskapi.ConnectResponse{ShimPid: uint32(os.Getpid())}
	if c, err := s.container(r.ID); err == nil {
		resp.TaskPid = uint32(c.init.pid())
	}
	return resp, nil
}

// Shutdown ends the shim once it serves no task; containerd calls it after
// every Delete, and a shim shared by a Pod must outlive its first task.
func (s *service) Shutdown(ctx context.Context, r *taskapi.ShutdownRequest) (*ptypes.Empty, error) {
	s.mu.Lock()
	n := len(s.containers)
	s.mu.Unlock()
	if n == 0 || r.Now {
		s.shutdown()
	}
	return &ptypes.Empty{}, nil
}

func (s *service) Stats(ctx context.Context, r *taskapi.StatsRequest) (*taskapi.StatsResponse, error) {
	c, err := s.container(r.ID)
	if err != nil {
		return nil, err
	}
	metrics, err := c.cgroup.Stats()
	if err != nil {
		return nil, err
	}
	data, err := typeurl.MarshalAnyToProto(metrics)
	if err != nil {
		return nil, fmt.Errorf("marshal metrics: %w", err)
	}
	return &taskapi.StatsResponse{Stats: data}, nil
}

// Pause freezes the task's cgroup: the init process and every exec.
func (s *service) Pause(ctx context.Context, r *taskapi.PauseRequest) (*ptypes.Empty, error) {
	c, err := s.container(r.ID)
	if err != nil {
		return nil, err
	}
	return &ptypes.Empty{}, s.setFrozen(c, movePause)
}

func (s *service) Resume(ctx context.Context, r *taskapi.ResumeRequest) (*ptypes.Empty, error) {
	c, err := s.container(r.ID)
	if err != nil {
		return nil, err
	}
	return &ptypes.Empty{}, s.setFrozen(c, moveResume)
}

// setFrozen pauses or resumes c and tells containerd.
func (s *service) setFrozen(c *container, m move) error {
	return c.setFrozen(m, func() {
		if m == movePause {
			s.events.send(runtime.TaskPausedEventTopic, &eventstypes.TaskPaused{ContainerID: c.id})
			return
		}
		s.events.send(runtime.TaskResumedEventTopic, &eventstypes.TaskResumed{ContainerID: c.id})
	})
}

// Update applies new linux.resources to the running task's cgroup.
func (s *service) Update(ctx context.Context, r *taskapi.UpdateTaskRequest) (*ptypes.Empty, error) {
	c, err := s.container(r.ID)
	if err != nil {
		return nil, err
	}
	var res specs.LinuxResources
	if r.Resources == nil || json.Unmarshal(r.Resources.Value, &res) != nil {
		return nil, fmt.Errorf("update %s: unreadable linux resources: %w", r.ID, errdefs.ErrInvalidArgument)
	}
	return &ptypes.Empty{}, c.cgroup.Update(&res)
}

func (s *service) Checkpoint(ctx context.Context, r *taskapi.CheckpointTaskRequest) (*ptypes.Empty, error) {
	return nil, fmt.Errorf("checkpoint: %w", errdefs.ErrNotImplemented)
}
