package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// proc is what the density test needs to know about a process.
type proc struct {
	pid, ppid int
	comm      string
	cmdline   []string
}

// parsePss returns the Pss line of a /proc/PID/smaps_rollup, in bytes.
func parsePss(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "Pss:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("Pss %q: %w", f[1], err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no Pss line")
}

// parseStatPPID reads the parent pid and command name from /proc/PID/stat,
// whose second field, the name in parentheses, may hold spaces and ')'.
func parseStatPPID(stat string) (ppid int, comm string, err error) {
	open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return 0, "", fmt.Errorf("malformed stat %q", stat)
	}
	f := strings.Fields(stat[end+1:])
	if len(f) < 2 {
		return 0, "", fmt.Errorf("malformed stat %q", stat)
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, stat[open+1 : end], err
}

// listProcs reads every process of /proc; processes that vanish meanwhile
// are skipped.
func listProcs() ([]proc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		ppid, comm, err := parseStatPPID(string(stat))
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out = append(out, proc{pid: pid, ppid: ppid, comm: comm, cmdline: strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")})
	}
	return out, nil
}

// shimTree returns the pids of the shims that serve our daemon (their
// command line names its address and is a binary called shimName) and of
// all their descendants.
func shimTree(procs []proc, shimName, address string) (shims, all []int) {
	children := map[int][]int{}
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	for _, p := range procs {
		if len(p.cmdline) > 0 && filepath.Base(p.cmdline[0]) == shimName && hasArg(p.cmdline, address) {
			shims = append(shims, p.pid)
		}
	}
	seen := map[int]bool{}
	queue := append([]int(nil), shims...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		all = append(all, pid)
		queue = append(queue, children[pid]...)
	}
	return shims, all
}

func hasArg(args []string, v string) bool {
	for _, a := range args {
		if a == v {
			return true
		}
	}
	return false
}

// pssOf sums the PSS of pids; a process that is gone is skipped.
func pssOf(pids []int) (total int64, counted int) {
	for _, pid := range pids {
		f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			continue
		}
		n, err := parsePss(f)
		f.Close()
		if err == nil {
			total += n
			counted++
		}
	}
	return total, counted
}
