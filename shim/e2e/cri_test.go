package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/hack/privatecontainerd"
)

// criImage holds /native (a static Linux program), /script.sh and every
// wasm module of the tests; it is linux/amd64, as a Pod's images are.
const criImage = nativeImage

// helloLinuxImage is hello for Kubernetes (examples/k8s/pod.yaml).
const helloLinuxImage = "localhost/wasm/hello-linux:latest"

// pod is one Pod sandbox run through CRI, as the kubelet runs it.
type pod struct {
	cd     *criDaemon
	id     string
	config *runtimeapi.PodSandboxConfig
}

// criCtx bounds one CRI call.
func criCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// runPod runs a Pod sandbox with the wasm runtime handler: on the host's
// network, or in a network namespace of its own set up by CNI.
func (cd *criDaemon) runPod(t *testing.T, name string, hostNetwork bool) *pod {
	t.Helper()
	return cd.runPodPid(t, name, hostNetwork, runtimeapi.NamespaceMode_CONTAINER)
}

// runPodPid runs a Pod whose containers get a pid namespace each
// (CONTAINER) or share the sandbox's (POD: shareProcessNamespace).
func (cd *criDaemon) runPodPid(t *testing.T, name string, hostNetwork bool, pid runtimeapi.NamespaceMode) *pod {
	t.Helper()
	return cd.runPodOf(t, criHandler, name, hostNetwork, pid)
}

// runPodOf runs a Pod sandbox with the given runtime handler.
func (cd *criDaemon) runPodOf(t *testing.T, handler, name string, hostNetwork bool, pid runtimeapi.NamespaceMode) *pod {
	t.Helper()
	network, hostname := runtimeapi.NamespaceMode_POD, name
	if hostNetwork {
		// The host's network comes with the host's UTS namespace, whose
		// name a Pod must not set.
		network, hostname = runtimeapi.NamespaceMode_NODE, ""
	}
	uid := fmt.Sprintf("%s-%d", name, time.Now().UnixNano())
	config := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Uid: uid, Namespace: "default"},
		Hostname:     hostname,
		LogDirectory: filepath.Join(cd.logDir, uid),
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			CgroupParent: cd.cgroupParent,
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Network: network, Pid: pid, Ipc: runtimeapi.NamespaceMode_POD},
			},
		},
	}
	resp, err := cd.runtime.RunPodSandbox(criCtx(t), &runtimeapi.RunPodSandboxRequest{Config: config, RuntimeHandler: handler})
	if err != nil {
		t.Fatalf("RunPodSandbox %s: %v", name, err)
	}
	p := &pod{cd: cd, id: resp.PodSandboxId, config: config}
	t.Cleanup(func() { p.remove(t) })
	return p
}

// remove stops and removes the Pod; a second call finds nothing to do.
func (p *pod) remove(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if _, err := p.cd.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.id}); err != nil && !strings.Contains(err.Error(), "not found") {
		t.Errorf("StopPodSandbox: %v", err)
	}
	if _, err := p.cd.runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.id}); err != nil && !strings.Contains(err.Error(), "not found") {
		t.Errorf("RemovePodSandbox: %v", err)
	}
}

// container creates a container in the Pod running args from criImage.
func (p *pod) container(t *testing.T, name string, attempt uint32, args []string, res *runtimeapi.LinuxContainerResources) string {
	t.Helper()
	return p.containerOf(t, criImage, name, attempt, args, nil, res)
}

// containerOf creates a container of image in the Pod; command replaces
// the image's entrypoint (if not nil) and args its cmd, as in a Pod spec.
func (p *pod) containerOf(t *testing.T, image, name string, attempt uint32, command, args []string, res *runtimeapi.LinuxContainerResources) string {
	t.Helper()
	return p.create(t, p.containerConfig(image, name, attempt, command, args, res))
}

// containerConfig is the config of a container of image in the Pod, for
// a test that adds to it before create.
func (p *pod) containerConfig(image, name string, attempt uint32, command, args []string, res *runtimeapi.LinuxContainerResources) *runtimeapi.ContainerConfig {
	return &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name, Attempt: attempt},
		Image:    &runtimeapi.ImageSpec{Image: image},
		Command:  command,
		Args:     args,
		LogPath:  fmt.Sprintf("%s_%d.log", name, attempt),
		// As the kubelet does, the container's namespaces are the Pod's.
		Linux: &runtimeapi.LinuxContainerConfig{Resources: res, SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			NamespaceOptions: p.config.Linux.SecurityContext.NamespaceOptions,
		}},
	}
}

// create creates a container of config in the Pod.
func (p *pod) create(t *testing.T, config *runtimeapi.ContainerConfig) string {
	t.Helper()
	resp, err := p.cd.runtime.CreateContainer(criCtx(t), &runtimeapi.CreateContainerRequest{PodSandboxId: p.id, Config: config, SandboxConfig: p.config})
	if err != nil {
		t.Fatalf("CreateContainer %s %v %v: %v", config.Metadata.Name, config.Command, config.Args, err)
	}
	return resp.ContainerId
}

func (p *pod) start(t *testing.T, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := p.cd.runtime.StartContainer(criCtx(t), &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
			st, _ := p.cd.status(t, id)
			out, _ := os.ReadFile(st.LogPath)
			t.Fatalf("StartContainer %s: %v\nits log:\n%s", id, err, out)
		}
	}
}

func (cd *criDaemon) status(t *testing.T, id string) (*runtimeapi.ContainerStatus, map[string]string) {
	t.Helper()
	resp, err := cd.runtime.ContainerStatus(criCtx(t), &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatalf("ContainerStatus %s: %v", id, err)
	}
	return resp.Status, resp.Info
}

// waitState polls ContainerStatus, as the kubelet does, until the
// container is in state want.
func (cd *criDaemon) waitState(t *testing.T, id string, want runtimeapi.ContainerState) *runtimeapi.ContainerStatus {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		st, _ := cd.status(t, id)
		if st.State == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s (%s) is %s, not %s: reason %q, message %q", st.Metadata.Name, id, st.State, want, st.Reason, st.Message)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// expectExit checks how a container ended, as ContainerStatus reports it.
func (cd *criDaemon) expectExit(t *testing.T, id string, code int32, reason string) *runtimeapi.ContainerStatus {
	t.Helper()
	st := cd.waitState(t, id, runtimeapi.ContainerState_CONTAINER_EXITED)
	if st.ExitCode != code || st.Reason != reason {
		t.Errorf("container %s: exit code %d reason %q (message %q), want %d %q", st.Metadata.Name, st.ExitCode, st.Reason, st.Message, code, reason)
	}
	return st
}

// criLogLine is the kubelet's log format: time, stream, P(artial) or
// F(ull), then the line.
var criLogLine = regexp.MustCompile(`^(\S+) (stdout|stderr) ([PF]) (.*)$`)

// readLog reads a container's CRI log file and returns its lines as
// "stream: text", failing on any line not in the kubelet's format.
func readLog(t *testing.T, st *runtimeapi.ContainerStatus) []string {
	t.Helper()
	f, err := os.Open(st.LogPath)
	if err != nil {
		t.Fatalf("CRI log of %s: %v", st.Metadata.Name, err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := criLogLine.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Errorf("log line of %s not in the CRI format: %q", st.Metadata.Name, sc.Text())
			continue
		}
		if _, err := time.Parse(time.RFC3339Nano, m[1]); err != nil {
			t.Errorf("log line of %s has a bad time: %q", st.Metadata.Name, sc.Text())
		}
		out = append(out, m[2]+": "+m[4])
	}
	return out
}

func expectLogLine(t *testing.T, lines []string, want string) {
	t.Helper()
	for _, l := range lines {
		if l == want {
			return
		}
	}
	t.Errorf("log has no line %q:\n%s", want, strings.Join(lines, "\n"))
}

// shims counts this daemon's shim processes (not their task children or
// the containers that runc started for them).
func (cd *criDaemon) shims() int {
	n := 0
	for _, p := range processesMentioning(cd.Address) {
		if filepath.Base(strings.TrimSuffix(p.exe, " (deleted)")) == shimBinary {
			n++
		}
	}
	return n
}

// pid is a container's (or sandbox's) pid from the verbose info.
func pidFromInfo(t *testing.T, info map[string]string) int {
	t.Helper()
	var v struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(info["info"]), &v); err != nil || v.Pid == 0 {
		t.Fatalf("no pid in the verbose info: %v %q", err, info["info"])
	}
	return v.Pid
}

func (p *pod) pid(t *testing.T) int {
	t.Helper()
	resp, err := p.cd.runtime.PodSandboxStatus(criCtx(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: p.id, Verbose: true})
	if err != nil {
		t.Fatalf("PodSandboxStatus: %v", err)
	}
	return pidFromInfo(t, resp.Info)
}

func nsOf(t *testing.T, pid int, kind string) string {
	t.Helper()
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
	if err != nil {
		t.Fatalf("namespace %s of %d: %v", kind, pid, err)
	}
	return ns
}

// criLeftovers is what a Pod may leave behind.
type criLeftovers struct {
	mounts  []string
	cgroups []string
	shims   int
}

func (cd *criDaemon) leftovers() criLeftovers {
	var l criLeftovers
	l.mounts = privatecontainerd.MountsUnder(cd.Dir)
	for _, dir := range cgroupDirsNamed(strings.TrimPrefix(cd.cgroupParent, "/")) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.IsDir() {
				l.cgroups = append(l.cgroups, filepath.Join(dir, e.Name()))
			}
		}
	}
	l.shims = cd.shims()
	return l
}

// expectClean waits a moment for shims to exit, then fails t for every
// shim, mount (rootfs, netns, shm) and cgroup that the removed Pods left.
func (cd *criDaemon) expectClean(t *testing.T, before []string) {
	t.Helper()
	known := map[string]bool{}
	for _, m := range before {
		known[m] = true
	}
	var found []string
	deadline := time.Now().Add(settle)
	for {
		found = nil
		l := cd.leftovers()
		for _, m := range l.mounts {
			if !known[m] {
				found = append(found, "mount "+m)
			}
		}
		for _, c := range l.cgroups {
			found = append(found, "cgroup "+c)
		}
		if l.shims > 0 {
			found = append(found, fmt.Sprintf("%d shim processes", l.shims))
		}
		if len(found) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, f := range found {
		t.Errorf("left behind: %s", f)
	}
}

// TestCRI drives containerd's CRI plugin exactly as the kubelet would,
// with the runtime handler "wasm": Pod sandboxes (the locally built pause
// image, run by runc inside our shim), wasm and native containers in them,
// exit codes, logs, stats, OOM kills, namespaces, and a few Pods at once.
func TestCRI(t *testing.T) {
	cd := startCRIDaemon(t)
	before := privatecontainerd.MountsUnder(cd.Dir)
	t.Run("wasm-and-sidecar", func(t *testing.T) { testCRIPod(t, cd) })
	t.Run("exit-codes", func(t *testing.T) { testCRIExitCodes(t, cd) })
	t.Run("oom", func(t *testing.T) { testCRIOOM(t, cd) })
	t.Run("pod-network", func(t *testing.T) { testCRIPodNetwork(t, cd) })
	t.Run("scale", func(t *testing.T) { testCRIScale(t, cd) })
	t.Run("runtime-options", func(t *testing.T) { testCRIRuntimeOptions(t, cd) })
	cd.expectClean(t, before)
}

// testCRIPod: one Pod, one shim, a wasm container and a native sidecar,
// their logs, the sidecar's stats and stop, a restart of the wasm
// container, and nothing left once the Pod is removed.
func testCRIPod(t *testing.T, cd *criDaemon) {
	before := privatecontainerd.MountsUnder(cd.Dir)
	p := cd.runPod(t, "hello", true)
	// The image of examples/k8s/pod.yaml: its entrypoint is the module.
	wasm := p.containerOf(t, helloLinuxImage, "wasm", 0, nil, []string{"from", "cri"}, nil)
	sidecar := p.container(t, "sidecar", 0, []string{"/native", "sleep"}, nil)
	if n := cd.shims(); n != 1 {
		t.Errorf("%d shims for a Pod of two containers and its sandbox, want 1", n)
	}
	p.start(t, wasm, sidecar)
	st := cd.expectExit(t, wasm, 0, "Completed")
	lines := readLog(t, st)
	expectLogLine(t, lines, "stdout: Hello from WebAssembly!")
	expectLogLine(t, lines, "stdout: args: from cri")
	cd.waitState(t, sidecar, runtimeapi.ContainerState_CONTAINER_RUNNING)
	if n := cd.shims(); n != 1 {
		t.Errorf("%d shims for a running Pod, want 1", n)
	}

	stats, err := cd.runtime.ContainerStats(criCtx(t), &runtimeapi.ContainerStatsRequest{ContainerId: sidecar})
	if err != nil {
		t.Fatalf("ContainerStats: %v", err)
	}
	if mem := stats.Stats.GetMemory().GetWorkingSetBytes().GetValue(); mem == 0 {
		t.Errorf("ContainerStats of the sidecar: no memory working set: %v", stats.Stats)
	}
	if cpu := stats.Stats.GetCpu().GetUsageCoreNanoSeconds().GetValue(); cpu == 0 {
		t.Errorf("ContainerStats of the sidecar: no CPU usage: %v", stats.Stats)
	}
	t.Logf("sidecar stats: memory working set %d bytes, cpu %d ns", stats.Stats.GetMemory().GetWorkingSetBytes().GetValue(), stats.Stats.GetCpu().GetUsageCoreNanoSeconds().GetValue())

	// A restart, as the kubelet does one: remove the exited container and
	// create the next attempt.
	if _, err := cd.runtime.RemoveContainer(criCtx(t), &runtimeapi.RemoveContainerRequest{ContainerId: wasm}); err != nil {
		t.Fatalf("RemoveContainer: %v", err)
	}
	again := p.container(t, "wasm", 1, []string{"/hello.wasm", "again"}, nil)
	p.start(t, again)
	expectLogLine(t, readLog(t, cd.expectExit(t, again, 0, "Completed")), "stdout: args: again")

	if _, err := cd.runtime.StopContainer(criCtx(t), &runtimeapi.StopContainerRequest{ContainerId: sidecar, Timeout: 10}); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	cd.expectExit(t, sidecar, 0, "Completed")
	p.remove(t)
	cd.expectClean(t, before)
}

// testCRIExitCodes: a wasm exit code, a trap and a native exit code reach
// ContainerStatus with the reason the kubelet shows, in a Pod that shares
// one pid namespace.
func testCRIExitCodes(t *testing.T, cd *criDaemon) {
	// shareProcessNamespace: the containers join the sandbox's pid
	// namespace, whose init is the pause program.
	p := cd.runPodPid(t, "exits", true, runtimeapi.NamespaceMode_POD)
	exit3 := p.container(t, "exit3", 0, []string{"/exit3.wasm"}, nil)
	trap := p.container(t, "trap", 0, []string{"/trap.wasm"}, nil)
	native := p.container(t, "native", 0, []string{"/native", "exit", "7"}, nil)
	script := p.container(t, "script", 0, []string{"/script.sh"}, nil)
	p.start(t, exit3, trap, native, script)
	cd.expectExit(t, exit3, 3, "Error")
	st := cd.expectExit(t, trap, trapExitStatus, "Error")
	if lines := readLog(t, st); !strings.Contains(strings.ToLower(strings.Join(lines, "\n")), "unreachable") {
		t.Errorf("the trap's log does not say unreachable:\n%s", strings.Join(lines, "\n"))
	}
	cd.expectExit(t, native, 7, "Error")
	expectLogLine(t, readLog(t, cd.expectExit(t, script, 0, "Completed")), "stdout: script /script.sh")
}

// testCRIOOM: a wasm container that outgrows its Pod's memory limit and a
// native one killed by the cgroup's OOM killer both report OOMKilled.
func testCRIOOM(t *testing.T, cd *criDaemon) {
	p := cd.runPod(t, "oom", true)
	limit := &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 64 << 20}
	wasm := p.container(t, "memhog", 0, []string{"/memhog.wasm"}, limit)
	native := p.container(t, "hog", 0, []string{"/native", "hog"}, limit)
	p.start(t, wasm, native)
	for _, id := range []string{wasm, native} {
		st := cd.waitState(t, id, runtimeapi.ContainerState_CONTAINER_EXITED)
		if st.Reason != "OOMKilled" || st.ExitCode == 0 {
			t.Errorf("%s: exit code %d reason %q, want OOMKilled", st.Metadata.Name, st.ExitCode, st.Reason)
		}
	}
}

// testCRIPodNetwork: in a Pod with a network namespace of its own (CNI,
// loopback), the wasm task child and a native container join the
// sandbox's network, uts and ipc namespaces; CPU and memory limits land
// in the container's cgroup.
func testCRIPodNetwork(t *testing.T, cd *criDaemon) {
	p := cd.runPod(t, "netns", false)
	sandboxPid := p.pid(t)
	res := &runtimeapi.LinuxContainerResources{CpuPeriod: 100000, CpuQuota: 20000, MemoryLimitInBytes: 128 << 20}
	wasm := p.container(t, "spin", 0, []string{"/busyloop.wasm"}, res)
	native := p.container(t, "sidecar", 0, []string{"/native", "sleep"}, nil)
	p.start(t, wasm, native)
	for _, id := range []string{wasm, native} {
		cd.waitState(t, id, runtimeapi.ContainerState_CONTAINER_RUNNING)
		_, info := cd.status(t, id)
		pid := pidFromInfo(t, info)
		for _, kind := range []string{"net", "uts", "ipc"} {
			if got, want := nsOf(t, pid, kind), nsOf(t, sandboxPid, kind); got != want {
				t.Errorf("container %s (pid %d) is in %s namespace %s, the Pod's is %s", id, pid, kind, got, want)
			}
		}
		// The Pod asks for a pid namespace per container.
		if got, pods := nsOf(t, pid, "pid"), nsOf(t, sandboxPid, "pid"); got == pods {
			t.Errorf("container %s (pid %d) shares the sandbox's pid namespace %s", id, pid, got)
		}
		if id == wasm && nsOf(t, pid, "net") == nsOf(t, os.Getpid(), "net") {
			t.Errorf("the wasm container is in the host's network namespace")
		}
		if id == wasm {
			expectCgroupValue(t, pid, "cpu", "cpu.cfs_quota_us", "20000")
			expectCgroupValue(t, pid, "memory", "memory.limit_in_bytes", strconv.Itoa(128<<20))
		}
	}
}

// expectCgroupValue reads a cgroup v1 file of the cgroup that pid is in.
func expectCgroupValue(t *testing.T, pid int, controller, file, want string) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || !strings.Contains(","+parts[1]+",", ","+controller+",") {
			continue
		}
		dir := filepath.Join("/sys/fs/cgroup", parts[1], parts[2])
		got, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Errorf("read %s of pid %d: %v", file, pid, err)
			return
		}
		if strings.TrimSpace(string(got)) != want {
			t.Errorf("%s of pid %d = %s, want %s", file, pid, strings.TrimSpace(string(got)), want)
		}
		return
	}
	t.Logf("no cgroup v1 %s controller for pid %d (cgroup v2?): %s not checked", controller, pid, file)
}

// testCRIScale: four Pods of the same wasm image start and report Running
// through CRI; how long that took is printed, not asserted.
func testCRIScale(t *testing.T, cd *criDaemon) {
	const pods = 4
	res := &runtimeapi.LinuxContainerResources{CpuPeriod: 100000, CpuQuota: 10000}
	started := time.Now()
	var ids []string
	for i := 0; i < pods; i++ {
		p := cd.runPod(t, fmt.Sprintf("scale-%d", i), true)
		id := p.container(t, "spin", 0, []string{"/busyloop.wasm"}, res)
		p.start(t, id)
		ids = append(ids, id)
	}
	for _, id := range ids {
		cd.waitState(t, id, runtimeapi.ContainerState_CONTAINER_RUNNING)
	}
	t.Logf("%d Pods of the wasm image Running through CRI in %v (containerd %s)", pods, time.Since(started).Round(time.Millisecond), cd.Version)
	if n := cd.shims(); n != pods {
		t.Errorf("%d shims for %d Pods, want one each", n, pods)
	}
}
