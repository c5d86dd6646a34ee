package e2e

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/hack/privatecontainerd"
)

// proc is one host process, identified by pid and start time so that a
// recycled pid is not mistaken for the process seen before.
type proc struct {
	pid     int
	ppid    int
	start   string
	exe     string
	cmdline string
}

func (p proc) key() string { return strconv.Itoa(p.pid) + "@" + p.start }

func processes() []proc {
	entries, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		stat, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		exe, _ := os.Readlink(filepath.Join(dir, "exe"))
		ppid, _ := strconv.Atoi(statField(stat, 4))
		out = append(out, proc{
			pid:     pid,
			ppid:    ppid,
			start:   statField(stat, 22),
			exe:     exe,
			cmdline: string(bytes.ReplaceAll(bytes.TrimRight(cmdline, "\x00"), []byte{0}, []byte{' '})),
		})
	}
	return out
}

// statField returns field n (1-based, as in proc(5)) of /proc/PID/stat;
// fields are counted after the parenthesised command, which may hold spaces.
func statField(stat []byte, n int) string {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(stat[i+1:]))
	if n-3 < 0 || n-3 >= len(f) {
		return ""
	}
	return f[n-3]
}

// childrenOf lists the pids whose parent is pid (a shim's task children).
func childrenOf(pid int) []int {
	var out []int
	for _, p := range processes() {
		if p.ppid == pid {
			out = append(out, p.pid)
		}
	}
	return out
}

func processesMentioning(s string) []proc {
	var out []proc
	for _, p := range processes() {
		if strings.Contains(p.cmdline, s) {
			out = append(out, p)
		}
	}
	return out
}

// cgroupDirsNamed finds folders called name in every cgroup hierarchy: the
// v1 controllers, the hybrid unified tree, or a pure v2 mount.
func cgroupDirsNamed(name string) []string {
	var out []string
	filepath.WalkDir("/sys/fs/cgroup", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if d.Name() == name {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// leftovers is what a container may leave on the host after it is gone.
type leftovers struct {
	mounts    []string        // mount points under the daemon's directory
	cgroups   []string        // cgroup folders named after the container
	procs     map[string]proc // host processes by key
	stateDirs []string        // the runtime's per-container folders
}

func snapshotLeftovers(id string) leftovers {
	d := suite.daemon
	l := leftovers{
		mounts:  privatecontainerd.MountsUnder(d.Dir),
		cgroups: cgroupDirsNamed(id),
		procs:   map[string]proc{},
	}
	for _, p := range processes() {
		l.procs[p.key()] = p
	}
	for _, base := range []string{d.State, d.Root} {
		dir := filepath.Join(base, "io.containerd.runtime.v2.task", d.ns, id)
		if _, err := os.Stat(dir); err == nil {
			l.stateDirs = append(l.stateDirs, dir)
		}
	}
	return l
}

// belongsTo tells whether a process that appeared during a test was started
// for container id: it names the container or this daemon's socket, or it
// is a wasm shim (or its re-executed task child) living in the
// container's cgroup.
func (p proc) belongsTo(id string) bool {
	d := suite.daemon
	if strings.Contains(p.cmdline, id) || strings.Contains(p.cmdline, d.Address) {
		return true
	}
	if filepath.Base(strings.TrimSuffix(p.exe, " (deleted)")) != shimBinary {
		return false
	}
	cg, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.pid), "cgroup"))
	return bytes.Contains(cg, []byte(id)) || bytes.Contains(cg, []byte(d.ns))
}

// describeLeftovers compares the host with a snapshot taken before the
// container existed and lists what the container left behind.
func describeLeftovers(before leftovers, id string) []string {
	after := snapshotLeftovers(id)
	known := map[string]bool{}
	for _, m := range before.mounts {
		known[m] = true
	}
	var found []string
	for _, m := range after.mounts {
		if !known[m] || strings.Contains(m, id) {
			found = append(found, "mount "+m)
		}
	}
	for _, c := range after.cgroups {
		found = append(found, "cgroup "+c)
	}
	for k, p := range after.procs {
		if _, old := before.procs[k]; !old && p.belongsTo(id) {
			found = append(found, fmt.Sprintf("process %d (exe %s): %s", p.pid, p.exe, p.cmdline))
		}
	}
	for _, s := range after.stateDirs {
		found = append(found, "state directory "+s)
	}
	return found
}
