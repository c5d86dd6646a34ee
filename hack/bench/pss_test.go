package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const rollup = `55d1c1a6c000-7ffd6a3f9000 ---p 00000000 00:00 0                          [rollup]
Rss:               12340 kB
Pss:                4321 kB
Pss_Dirty:          2000 kB
Pss_Anon:           1900 kB
Shared_Clean:       8000 kB
`

func TestParsePss(t *testing.T) {
	got, err := parsePss(strings.NewReader(rollup))
	if err != nil {
		t.Fatal(err)
	}
	if got != 4321*1024 {
		t.Errorf("Pss = %d bytes, want %d", got, 4321*1024)
	}
	if _, err := parsePss(strings.NewReader("Rss: 1 kB\n")); err == nil {
		t.Error("no Pss line: want an error")
	}
	if _, err := parsePss(strings.NewReader("Pss: many kB\n")); err == nil {
		t.Error("bad number: want an error")
	}
}

func TestParseStatPPID(t *testing.T) {
	for _, tc := range []struct {
		name, stat, comm string
		ppid             int
		bad              bool
	}{
		{name: "plain", stat: "123 (containerd-shim) S 1 123 123 0", comm: "containerd-shim", ppid: 1},
		{name: "spaces and parens in the name", stat: "9 (a) b (c)) R 42 9 9 0", comm: "a) b (c)", ppid: 42},
		{name: "truncated", stat: "9 (x", bad: true},
		{name: "no fields after the name", stat: "9 (x) S", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ppid, comm, err := parseStatPPID(tc.stat)
			if tc.bad {
				if err == nil {
					t.Errorf("want an error, got ppid %d comm %q", ppid, comm)
				}
				return
			}
			if err != nil || ppid != tc.ppid || comm != tc.comm {
				t.Errorf("got %d %q %v, want %d %q", ppid, comm, err, tc.ppid, tc.comm)
			}
		})
	}
}

func TestShimTree(t *testing.T) {
	const addr = "/tmp/bench.1/containerd.sock"
	procs := []proc{
		{pid: 1, ppid: 0, cmdline: []string{"/sbin/init"}},
		{pid: 10, ppid: 1, cmdline: []string{"/repo/bin/containerd-shim-wasm-v1", "-namespace", "bench", "-id", "a", "-address", addr}},
		{pid: 11, ppid: 10, cmdline: []string{"/proc/self/exe", "child"}},
		{pid: 12, ppid: 11, cmdline: []string{"grandchild"}},
		// Another daemon's shim and its child: not ours.
		{pid: 20, ppid: 1, cmdline: []string{"containerd-shim-wasm-v1", "-address", "/tmp/other/containerd.sock"}},
		{pid: 21, ppid: 20, cmdline: []string{"child"}},
		// A runc shim of our daemon: another binary.
		{pid: 30, ppid: 1, cmdline: []string{"containerd-shim-runc-v2", "-address", addr}},
	}
	shims, all := shimTree(procs, "containerd-shim-wasm-v1", addr)
	slices.Sort(all)
	if !slices.Equal(shims, []int{10}) || !slices.Equal(all, []int{10, 11, 12}) {
		t.Errorf("shims %v all %v, want [10] [10 11 12]", shims, all)
	}
}

func TestLoadTimes(t *testing.T) {
	log := []byte(`time="x" level=info msg="module /r/hello.wasm ready: cache hit (compile 0s, load 3ms)" id=a
time="x" level=info msg="module /r/hello.wasm ready: cache miss (compile 1.2s, load 0s)" id=b
time="x" level=info msg="module /r/hello.wasm ready: cache hit (compile 0s, load 12ms)" id=c
`)
	got := loadTimes(log)
	if len(got) != 2 || got[0].Milliseconds() != 3 || got[1].Milliseconds() != 12 {
		t.Errorf("loadTimes = %v, want [3ms 12ms]", got)
	}
}

func TestConnectTimes(t *testing.T) {
	log := []byte(`time="2026-11-24T17:23:55.242789201Z" level=info msg="connecting to shim go-wasm-1-4" address="unix:///run/x" namespace=bench
time="2026-11-24T17:23:59Z" level=info msg="module ready" id=go-wasm-1-4
time="bad" level=info msg="connecting to shim go-wasm-1-5" namespace=bench
`)
	got := connectTimes(log)
	want := time.Date(2026, 11, 24, 17, 23, 55, 242789201, time.UTC)
	if len(got) != 1 || !got["go-wasm-1-4"].Equal(want) {
		t.Errorf("connectTimes = %v, want go-wasm-1-4 at %v", got, want)
	}
}

func TestParseKernel(t *testing.T) {
	got, err := parseKernel([]byte("sort 2097152 ints: 412.3 ms\nnoise\nsha256 64 MiB: 95.1 ms\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got["sort 2097152 ints"] != 412.3 || got["sha256 64 MiB"] != 95.1 || len(got) != 2 {
		t.Errorf("parseKernel = %v", got)
	}
	if _, err := parseKernel([]byte("nothing here\n")); err == nil {
		t.Error("no timings: want an error")
	}
}
