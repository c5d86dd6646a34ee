// Command hook is the OCI hook of the e2e tests. Every mode first records
// how it was run into DIR/KIND.json (see Record); then:
//
//	record DIR KIND                      nothing more
//	veth DIR KIND IP HOSTLINK PEERLINK   create a veth pair with the ip
//	                                     program IP and move PEERLINK into
//	                                     the network namespace of the
//	                                     state's pid (/proc/PID/ns/net)
//	install DIR KIND                     copy itself to /hook in the
//	                                     container's rootfs (the bundle's
//	                                     rootfs), for a startContainer hook
//	fail DIR KIND MESSAGE                write MESSAGE on stderr, exit 1
//	sleep DIR KIND                       sleep for an hour
//
// Trailing arguments are ignored: the tests add the container id, so a
// hook left running is found as the container's leftover.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Record is what a hook saw; the tests decode the same shape.
type Record struct {
	State json.RawMessage `json:"state"`
	Args  []string        `json:"args"`
	Env   []string        `json:"env"`
	Cwd   string          `json:"cwd"`
	// NetNS and MntNS are the hook's /proc/self/ns/{net,mnt} links
	// (empty where no /proc is mounted, as in a chroot).
	NetNS string `json:"netns"`
	MntNS string `json:"mntns"`
	// Time is when the hook ran, in Unix nanoseconds.
	Time int64 `json:"time"`
}

// state is the part of the OCI state that the modes use.
type state struct {
	Pid    int    `json:"pid"`
	Bundle string `json:"bundle"`
}

func main() {
	if len(os.Args) < 4 {
		fail("usage: hook MODE DIR KIND ...")
	}
	mode, dir, kind, rest := os.Args[1], os.Args[2], os.Args[3], os.Args[4:]
	raw, err := io.ReadAll(os.Stdin)
	check(err)
	var st state
	check(json.Unmarshal(raw, &st))
	record(filepath.Join(dir, kind+".json"), raw)
	switch mode {
	case "record":
	case "veth":
		if len(rest) < 3 {
			fail("veth needs IP HOSTLINK PEERLINK")
		}
		ip, host, peer := rest[0], rest[1], rest[2]
		run(ip, "link", "add", host, "type", "veth", "peer", "name", peer)
		run(ip, "link", "set", peer, "netns", fmt.Sprintf("/proc/%d/ns/net", st.Pid))
	case "install":
		self, err := os.ReadFile("/proc/self/exe")
		check(err)
		check(os.WriteFile(filepath.Join(st.Bundle, "rootfs", "hook"), self, 0o755))
	case "fail":
		if len(rest) < 1 {
			fail("fail needs MESSAGE")
		}
		fmt.Fprintln(os.Stderr, rest[0])
		os.Exit(1)
	case "sleep":
		time.Sleep(time.Hour)
	default:
		fail("unknown mode " + mode)
	}
}

func record(path string, raw []byte) {
	cwd, _ := os.Getwd()
	netns, _ := os.Readlink("/proc/self/ns/net")
	mntns, _ := os.Readlink("/proc/self/ns/mnt")
	env := os.Environ()
	if env == nil {
		env = []string{}
	}
	data, err := json.Marshal(Record{State: raw, Args: os.Args, Env: env, Cwd: cwd, NetNS: netns, MntNS: mntns, Time: time.Now().UnixNano()})
	check(err)
	check(os.WriteFile(path, data, 0o644))
}

func run(name string, args ...string) {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		fail(fmt.Sprintf("%s %v: %v: %s", name, args, err, out))
	}
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "hook:", msg)
	os.Exit(1)
}
