package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// These tests create containers with the spec nerdctl v2.3 and Docker
// (moby, docker-v29.7) build, without their binaries: each client's spec
// options are rebuilt here from its source, commented with the file they
// mirror. The module must run, and the limits must land in the task's
// cgroup as runc would write them.
//
// Left out, because they need the clients' own binaries or daemons: the
// OCI hooks that set up their networks (nerdctl's `internal oci-hook`,
// moby's libnetwork) and AppArmor profiles (this test host has no
// AppArmor; both clients skip it then).

// unifiedHost says whether the host runs cgroup v2 only.
func unifiedHost() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// nerdctlFlags are the `nerdctl run` flags of a shape; zero is "not given".
type nerdctlFlags struct {
	memory     int64   // --memory, bytes
	memorySwap int64   // --memory-swap, bytes; -1 for unlimited
	cpus       float64 // --cpus
	cpuShares  uint64  // --cpu-shares
	pidsLimit  int64   // --pids-limit
}

// nerdctlRun is the spec `nerdctl run` (v2.3.5, cgroupfs driver, default
// bridge network, root) builds for container id, after
// oci.WithDefaultSpec (client.WithNewSpec starts from it) and before the
// image's config and the command.
func nerdctlRun(t *testing.T, id string, f nerdctlFlags) []oci.SpecOpts {
	// pkg/cmd/container/run_linux.go, setPlatformOptions.
	opts := []oci.SpecOpts{
		oci.WithDefaultUnixDevices,
		oci.WithoutRunMount,
		oci.WithMounts([]specs.Mount{
			{Type: "cgroup", Source: "cgroup", Destination: "/sys/fs/cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
		}),
	}
	opts = append(opts, nerdctlCgroupOpts(f)...)
	opts = append(opts,
		// run_security_linux.go, generateSecurityOpts: the default seccomp
		// profile unless --security-opt seccomp=...
		seccomp.WithDefaultProfile(),
		// run_ulimit_linux.go: without --ulimit the default spec's rlimits
		// are dropped, as containerd's CRI does.
		func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			s.Process.Rlimits = nil
			return nil
		},
	)
	// pkg/containerutil/container_network_manager.go (CNI networks): the
	// hostname and three files of the container's state directory.
	opts = append(opts, oci.WithHostname(id[:12]))
	opts = append(opts, etcFiles(t, "rprivate")...)
	// create.go, withDefaultUnprivilegedPortSysctl: any network but the host's.
	opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux.Sysctl == nil {
			s.Linux.Sysctl = map[string]string{}
		}
		s.Linux.Sysctl["net.ipv4.ip_unprivileged_port_start"] = "0"
		return nil
	})
	return opts
}

// nerdctlCgroupOpts is run_cgroup_linux.go, generateCgroupOpts, for the
// flags of f (no --cgroup-parent: containerd's default path).
func nerdctlCgroupOpts(f nerdctlFlags) []oci.SpecOpts {
	var opts []oci.SpecOpts
	if f.cpus > 0 {
		opts = append(opts, oci.WithCPUCFS(int64(f.cpus*100000.0), 100000))
	}
	if f.cpuShares != 0 {
		opts = append(opts, oci.WithCPUShares(f.cpuShares))
	}
	// Every container, realtime flags or not: the zeros that failed every
	// nerdctl run before the shim read them as unset.
	opts = append(opts, oci.WithCPURT(0, 0))
	if f.memory > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(f.memory)))
	}
	// Without --memory-swap (or with 0) the swap limit is twice the memory.
	swap := f.memorySwap
	if swap == 0 {
		swap = f.memory * 2
	}
	if swap != 0 {
		opts = append(opts, oci.WithMemorySwap(swap))
	}
	// withCustomMemoryResources: an empty memory section on every container.
	opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux.Resources.Memory == nil {
			s.Linux.Resources.Memory = &specs.LinuxMemory{}
		}
		return nil
	})
	if f.pidsLimit > 0 {
		opts = append(opts, oci.WithPidsLimit(f.pidsLimit))
	}
	// withUnified: an empty map, which JSON leaves out.
	opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		s.Linux.Resources.Unified = map[string]string{}
		return nil
	})
	// --cgroupns defaults to private on v2 and host on v1.
	if unifiedHost() {
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.CgroupNamespace}))
	} else {
		opts = append(opts, oci.WithHostNamespace(specs.CgroupNamespace))
	}
	return opts
}

// etcFiles are the bind mounts of /etc/resolv.conf, /etc/hosts and
// /etc/hostname both clients give a container from files of their own.
func etcFiles(t *testing.T, propagation string) []oci.SpecOpts {
	dir := t.TempDir()
	var mounts []specs.Mount
	for _, name := range []string{"resolv.conf", "hosts", "hostname"} {
		src := filepath.Join(dir, name)
		if err := os.WriteFile(src, []byte("# "+name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		mounts = append(mounts, specs.Mount{Destination: "/etc/" + name, Type: "bind", Source: src, Options: []string{"bind", propagation}})
	}
	return []oci.SpecOpts{oci.WithMounts(mounts)}
}

// dockerResources is a HostConfig's resources, the fields `docker run`
// limits set; zero is "not given".
type dockerResources struct {
	memory    int64  // --memory
	nanoCPUs  int64  // --cpus, in 1e-9 CPUs
	cpuShares int64  // --cpu-shares
	pidsLimit *int64 // --pids-limit; nil when not given
}

// dockerRun is the spec dockerd (moby, cgroupfs driver, root) builds for
// a container: its own default spec (daemon/pkg/oci/defaults.go), not
// containerd's, then createSpec's options (daemon/oci_linux.go).
// cgroupParent stands for the daemon's --cgroup-parent, which replaces
// /docker. timeNS is Docker 29.5 and later, which add a private time
// namespace where the kernel has them (moby d5370d34d3).
func dockerRun(t *testing.T, id, cgroupParent string, timeNS bool, r dockerResources) []oci.SpecOpts {
	return []oci.SpecOpts{
		dockerDefaultSpec(timeNS),
		// withCgroups: the parent joined with the container's id.
		oci.WithCgroup(filepath.Join(cgroupParent, id)),
		// WithResources, with the daemon's adaptContainerSettings first
		// (a memory limit without --memory-swap gets twice as much).
		func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			s.Linux.Resources.Memory = dockerMemory(r)
			s.Linux.Resources.CPU = dockerCPU(r)
			s.Linux.Resources.BlockIO = &specs.LinuxBlockIO{}
			s.Linux.Resources.Pids = dockerPids(r.pidsLimit)
			return nil
		},
		oci.WithHostname(id[:12]),
		// WithSeccomp: moby's default profile, which has containerd's shape
		// (the shim does not filter system calls; WASI makes none).
		seccomp.WithDefaultProfile(),
		// withMounts: the container's resolv.conf, hostname and hosts.
		etcFiles(t, "rprivate")[0],
	}
}

// dockerDefaultSpec is daemon/pkg/oci/defaults.go, DefaultLinuxSpec,
// over the spec the client started from (the image's config and the
// process args stay).
func dockerDefaultSpec(timeNS bool) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		dockerDefaults(s, timeNS)
		return nil
	}
}

func dockerDefaults(s *oci.Spec, timeNS bool) {
	s.Mounts = []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777"}},
	}
	s.Process.Rlimits = nil
	s.Linux.Namespaces = []specs.LinuxNamespace{
		{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.UTSNamespace},
		{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace},
	}
	// 29.5+: a private time namespace where the kernel has them
	// (oci_linux.go, WithNamespaces, removes it otherwise).
	if _, err := os.Stat("/proc/self/ns/time"); err == nil && timeNS {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
	}
	s.Linux.Devices = []specs.LinuxDevice{}
	dev := func(allow bool, major, minor int64) specs.LinuxDeviceCgroup {
		return specs.LinuxDeviceCgroup{Allow: allow, Type: "c", Major: &major, Minor: &minor, Access: "rwm"}
	}
	s.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		dev(true, 1, 5), dev(true, 1, 3), dev(true, 1, 9), dev(true, 1, 8), dev(true, 5, 0), dev(true, 5, 1),
		dev(false, 10, 229),
	}}
}

// dockerMemory is daemon/daemon_unix.go, getMemoryResources: only positive
// values are sent, and no section at all without one.
func dockerMemory(r dockerResources) *specs.LinuxMemory {
	if r.memory <= 0 {
		return nil
	}
	swap := r.memory * 2
	return &specs.LinuxMemory{Limit: &r.memory, Swap: &swap}
}

// dockerCPU is getCPUResources: --cpus as a quota over a 100 ms period.
func dockerCPU(r dockerResources) *specs.LinuxCPU {
	var cpu specs.LinuxCPU
	if r.cpuShares != 0 {
		shares := uint64(r.cpuShares)
		cpu.Shares = &shares
	}
	if r.nanoCPUs > 0 {
		period := uint64(100000)
		quota := r.nanoCPUs * int64(period) / 1e9
		cpu.Period, cpu.Quota = &period, &quota
	}
	if cpu == (specs.LinuxCPU{}) {
		return nil
	}
	return &cpu
}

// dockerPids is getPidsLimit: 0 and below are sent as -1, "no limit".
func dockerPids(limit *int64) *specs.LinuxPids {
	if limit == nil {
		return nil
	}
	v := *limit
	if v <= 0 {
		v = -1
	}
	return &specs.LinuxPids{Limit: &v}
}

// cgroupValues are the files of a task's cgroup a shape must leave with
// given contents, as "controller/file" (the controller names the v1
// hierarchy; v2 has one directory).
type cgroupValues map[string]string

// expectCgroup reads the running task's cgroup at rel (its cgroupsPath).
func expectCgroup(t *testing.T, rel string, want cgroupValues) {
	t.Helper()
	for f, v := range want {
		ctrl, file, _ := strings.Cut(f, "/")
		p := filepath.Join("/sys/fs/cgroup", ctrl, rel, file)
		if unifiedHost() {
			p = filepath.Join("/sys/fs/cgroup", rel, file)
		}
		if got := readTrimmed(t, p); got != v {
			t.Errorf("%s = %q, want %q", p, got, v)
		} else {
			t.Logf("%s = %s", p, got)
		}
	}
}

// startForCgroup creates a task running wasi-demo's sleep with opts and
// returns it once its cgroup exists; the container is removed at the end.
func startForCgroup(t *testing.T, id string, opts ...oci.SpecOpts) client.Task {
	t.Helper()
	c, ctx := newClient(t)
	ctr := newContainer(t, c, ctx, id, []string{demoModule, "sleep", "60"}, opts...)
	task, err := ctr.NewTask(ctx, goIO(nil, nil, nil))
	if err != nil {
		t.Fatalf("new task with the client's spec: %v", err)
	}
	// containerOf's cleanup kills and deletes the task.
	if err := task.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	return task
}

// expectHello runs hello.wasm with a shape's options to a greeting.
func expectHello(t *testing.T, opts func(id string) []oci.SpecOpts) {
	t.Helper()
	id := containerID(t)
	r := runGoID(t, id, []string{helloModule}, nil, nil, opts(id)...)
	if r.exit != 0 || !strings.Contains(r.stdout, "Hello from WebAssembly!") {
		t.Fatalf("hello: exit %d, stdout %q, stderr %q; want 0 and the greeting", r.exit, r.stdout, r.stderr)
	}
}

// expectMemhogStopped runs memhog (4 MiB steps, no end) under a shape
// whose memory limit is limitMiB and checks it was stopped below it.
func expectMemhogStopped(t *testing.T, limitMiB int, opts func(id string) []oci.SpecOpts) {
	t.Helper()
	id := containerID(t)
	var out bytes.Buffer
	r := runGoID(t, id, []string{memhogModule}, nil, &out, opts(id)...)
	last := 0
	for _, l := range lines(out.String()) {
		if n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(l, "allocated "), " MiB")); err == nil {
			last = n
		}
	}
	t.Logf("memhog under %d MiB: exit %d after %d MiB", limitMiB, r.exit, last)
	if r.exit == 0 || last == 0 || last >= limitMiB {
		t.Errorf("memhog exit %d after %d MiB, want a non-zero exit below %d MiB", r.exit, last, limitMiB)
	}
}

// expectSpinShare runs spin under a shape limited to half a CPU and
// checks its cgroup got at most 0.6 CPU over two seconds.
func expectSpinShare(t *testing.T, opts func(id string) []oci.SpecOpts) {
	t.Helper()
	if unifiedHost() {
		t.Log("cpu share measured from cpuacct, a v1 file: skipped on v2")
		return
	}
	dir := t.TempDir()
	id := containerID(t)
	c, ctx := newClient(t)
	all := append(opts(id), oci.WithMounts([]specs.Mount{{Destination: "/out", Type: "bind", Source: dir, Options: []string{"rbind", "rw"}}}))
	ctr := newContainer(t, c, ctx, id, []string{spinModule, "/out/spin.txt"}, all...)
	task, err := ctr.NewTask(ctx, goIO(nil, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "spin.txt")
	waitFor(t, 30*time.Second, "spin's first report", func() bool { return readSpinReport(t, report).iterations > 0 })
	s := measureSpin(t, id, report, 2*time.Second)
	t.Logf("spin under --cpus 0.5: %.2f CPU", s.share)
	if s.share > 0.6 {
		t.Errorf("spin's cgroup got %.2f CPU, want at most 0.6", s.share)
	}
}

const unlimitedV1 = "9223372036854771712" // v1's "no limit", a page-aligned max int64

func TestNerdctlRunNoFlags(t *testing.T) {
	needDaemon(t)
	opts := func(id string) []oci.SpecOpts { return nerdctlRun(t, id, nerdctlFlags{}) }
	expectHello(t, opts)
	id := containerID(t)
	startForCgroup(t, id, opts(id)...)
	want := cgroupValues{
		"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.shares": "1024", "cpu/cpu.rt_period_us": "1000000", "cpu/cpu.rt_runtime_us": "0",
		"memory/memory.limit_in_bytes": unlimitedV1, "pids/pids.max": "max",
	}
	if unifiedHost() {
		want = cgroupValues{"cpu/cpu.max": "max 100000", "cpu/cpu.weight": "100", "memory/memory.max": "max", "pids/pids.max": "max"}
	}
	expectCgroup(t, filepath.Join(suite.daemon.ns, id), want)
	if !unifiedHost() {
		expectDevices(t, filepath.Join(suite.daemon.ns, id))
	}
}

// expectDevices: the deny-all rule the default spec starts with holds, and
// the character devices every program may open are allowed.
func expectDevices(t *testing.T, rel string) {
	t.Helper()
	list := readTrimmed(t, filepath.Join("/sys/fs/cgroup/devices", rel, "devices.list"))
	entries := lines(list)
	for _, want := range []string{"c 1:3 rwm", "c 1:9 rwm", "c 5:2 rwm"} {
		if !strings.Contains(list, want) {
			t.Errorf("devices.list lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, "a *:* rwm") {
		t.Errorf("devices.list allows every device:\n%s", list)
	}
	t.Logf("devices.list: %d rules", len(entries))
}

func TestNerdctlRunLimits(t *testing.T) {
	needDaemon(t)
	base := nerdctlFlags{memory: 64 << 20, cpus: 0.5, pidsLimit: 20, cpuShares: 512}
	for _, tc := range []struct {
		name    string
		swap    int64
		v1Swap  string
		v2Swap  string
		memhog  bool
		spinCPU bool
	}{
		{name: "no memory-swap", v1Swap: strconv.Itoa(128 << 20), v2Swap: strconv.Itoa(64 << 20), memhog: true, spinCPU: true},
		{name: "memory-swap 96m", swap: 96 << 20, v1Swap: strconv.Itoa(96 << 20), v2Swap: strconv.Itoa(32 << 20)},
		{name: "memory-swap -1", swap: -1, v1Swap: unlimitedV1, v2Swap: "max"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := base
			f.memorySwap = tc.swap
			opts := func(id string) []oci.SpecOpts { return nerdctlRun(t, id, f) }
			expectHello(t, opts)
			id := containerID(t)
			startForCgroup(t, id, opts(id)...)
			want := cgroupValues{
				"memory/memory.limit_in_bytes": strconv.Itoa(64 << 20), "memory/memory.memsw.limit_in_bytes": tc.v1Swap,
				"cpu/cpu.cfs_quota_us": "50000", "cpu/cpu.cfs_period_us": "100000", "cpu/cpu.shares": "512",
				"cpu/cpu.rt_period_us": "1000000", "pids/pids.max": "20",
			}
			if unifiedHost() {
				want = cgroupValues{
					"memory/memory.max": strconv.Itoa(64 << 20), "memory/memory.swap.max": tc.v2Swap,
					"cpu/cpu.max": "50000 100000", "cpu/cpu.weight": "59", "pids/pids.max": "20",
				}
			}
			expectCgroup(t, filepath.Join(suite.daemon.ns, id), want)
			if tc.memhog {
				expectMemhogStopped(t, 64, opts)
			}
			if tc.spinCPU {
				expectSpinShare(t, opts)
			}
		})
	}
}

// TestDockerRunNoLimits and TestDockerRunLimits are Docker up to 29.4;
// TestDockerTimeNamespace is what 29.5 and later add.
func TestDockerRunNoLimits(t *testing.T) {
	needDaemon(t)
	parent := "/" + suite.daemon.ns
	opts := func(id string) []oci.SpecOpts { return dockerRun(t, id, parent, false, dockerResources{}) }
	expectHello(t, opts)
	id := containerID(t)
	startForCgroup(t, id, opts(id)...)
	want := cgroupValues{"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.shares": "1024", "memory/memory.limit_in_bytes": unlimitedV1, "pids/pids.max": "max"}
	if unifiedHost() {
		want = cgroupValues{"cpu/cpu.max": "max 100000", "memory/memory.max": "max", "pids/pids.max": "max"}
	}
	expectCgroup(t, filepath.Join(parent, id), want)
	if !unifiedHost() {
		expectDevices(t, filepath.Join(parent, id))
	}
}

func TestDockerRunLimits(t *testing.T) {
	needDaemon(t)
	parent := "/" + suite.daemon.ns
	r := dockerResources{memory: 64 << 20, nanoCPUs: 5e8, cpuShares: 512, pidsLimit: ptrTo(int64(20))}
	opts := func(id string) []oci.SpecOpts { return dockerRun(t, id, parent, false, r) }
	expectHello(t, opts)
	expectMemhogStopped(t, 64, opts)
	id := containerID(t)
	task := startForCgroup(t, id, opts(id)...)
	rel := filepath.Join(parent, id)
	want := cgroupValues{
		"memory/memory.limit_in_bytes": strconv.Itoa(64 << 20), "memory/memory.memsw.limit_in_bytes": strconv.Itoa(128 << 20),
		"cpu/cpu.cfs_quota_us": "50000", "cpu/cpu.cfs_period_us": "100000", "cpu/cpu.shares": "512", "pids/pids.max": "20",
	}
	if unifiedHost() {
		want = cgroupValues{
			"memory/memory.max": strconv.Itoa(64 << 20), "memory/memory.swap.max": strconv.Itoa(64 << 20),
			"cpu/cpu.max": "50000 100000", "cpu/cpu.weight": "59", "pids/pids.max": "20",
		}
	}
	expectCgroup(t, rel, want)

	// `docker update --memory 256m --memory-swap 512m --pids-limit 0`:
	// the new memory is above the old memory+swap limit (v1 takes them
	// in one order only), and a pids limit of 0 is sent as -1.
	_, ctx := newClient(t)
	mem, swap := int64(256<<20), int64(512<<20)
	update := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &mem, Swap: &swap}, Pids: dockerPids(ptrTo(int64(0)))}
	if err := task.Update(ctx, client.WithResources(update)); err != nil {
		t.Fatalf("docker update: %v", err)
	}
	want = cgroupValues{"memory/memory.limit_in_bytes": strconv.Itoa(256 << 20), "memory/memory.memsw.limit_in_bytes": strconv.Itoa(512 << 20), "pids/pids.max": "max"}
	if unifiedHost() {
		want = cgroupValues{"memory/memory.max": strconv.Itoa(256 << 20), "memory/memory.swap.max": strconv.Itoa(256 << 20), "pids/pids.max": "max"}
	}
	expectCgroup(t, rel, want)
}

// TestDockerTimeNamespace: Docker 29.5 and later give every container a
// private time namespace (with no clock offsets) on kernels that have
// them. A wasm task has no use for it, and it must not break the run.
func TestDockerTimeNamespace(t *testing.T) {
	needDaemon(t)
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("the kernel has no time namespaces: Docker leaves it out")
	}
	parent := "/" + suite.daemon.ns
	expectHello(t, func(id string) []oci.SpecOpts { return dockerRun(t, id, parent, true, dockerResources{}) })
}

func ptrTo[T any](v T) *T { return &v }
