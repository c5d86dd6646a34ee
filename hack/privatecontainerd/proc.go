package privatecontainerd

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// TerminateGrace is how long a process we started gets to exit after
// SIGTERM before it is killed.
const TerminateGrace = 15 * time.Second

// Terminate sends p SIGTERM, and SIGKILL if it has not exited after grace;
// exited is closed once p is gone. It reports whether p had to be killed.
func Terminate(p *os.Process, exited <-chan struct{}, grace time.Duration) (killed bool) {
	p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return false
	case <-time.After(grace):
		p.Kill()
		<-exited
		return true
	}
}

// shimsOf lists the processes that serve the daemon at address (shims
// name it on their command line) and their children (task processes),
// children first.
func shimsOf(address string) []int {
	type proc struct{ pid, ppid int }
	var all []proc
	var shims []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The fields after the parenthesised command: state, then ppid.
		var ppid int
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 {
			if f := strings.Fields(string(stat[i+1:])); len(f) > 1 {
				ppid, _ = strconv.Atoi(f[1])
			}
		}
		all = append(all, proc{pid, ppid})
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if bytes.Contains(cmdline, []byte(address)) {
			shims = append(shims, pid)
		}
	}
	var out []int
	for _, p := range all {
		if slices.Contains(shims, p.ppid) && !slices.Contains(shims, p.pid) {
			out = append(out, p.pid)
		}
	}
	return append(out, shims...)
}

// MountsUnder lists the mount points at or below dir, in the order they
// can be unmounted: deepest first, and of two mounts on one path the
// later one first.
func MountsUnder(dir string) []string {
	var out []string
	for _, line := range readLines("/proc/self/mountinfo") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	slices.Reverse(out)
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// unescapeMountinfo decodes the \NNN octal escapes (\040 for a space) of
// /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
