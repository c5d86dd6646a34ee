package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/examples/net/nettest"
)

// The networking examples (examples/README.md, "The networking examples")
// come from hack/build-toolchain-examples.sh as one image, which the suite
// imports with every other archive of the images folder.
const (
	netImage   = "localhost/wasm/net:latest"
	netArchive = "net.tar"
	// netFile is /data/hello.txt in the image, which GET /file serves.
	netFile = "hello from the image\n"
	// wasiHostAnnotation is shim.AnnotationWASIHost.
	wasiHostAnnotation = "io.containerd.wasm.wasi-host"
	// netConcurrent is how many requests TestNetServers has in flight at once.
	netConcurrent = 100
	// netReady bounds the wait for a server's first answer: the Go
	// server is 9 MB of wasm that Cranelift compiles cold in seconds.
	netReady = 2 * time.Minute
)

var netServers = []struct{ name, module, hello string }{
	{"go", "/go-server.wasm", "hello from go\n"},
	{"rust", "/rust-server.wasm", "hello from rust\n"},
	{"c", "/c-server.wasm", "hello from c\n"},
}

// needNetImage skips t when the networking image lacks module, unless
// E2E_REQUIRE_TOOLCHAINS makes that a failure, as for the toolchain demos.
func needNetImage(t *testing.T, module string) {
	t.Helper()
	needImageModule(t, netArchive, module, "hack/build-toolchain-examples.sh")
}

// needImageModule skips t when the image archive (in the images folder)
// lacks module, which script builds, unless E2E_REQUIRE_TOOLCHAINS makes
// that a failure.
func needImageModule(t *testing.T, archiveName, module, script string) {
	t.Helper()
	archive := filepath.Join(imagesDir(suite.repo), archiveName)
	present, err := toolchainModules(archive)
	if err != nil {
		t.Fatalf("reading %s: %v", archive, err)
	}
	if present[module] {
		return
	}
	why := fmt.Sprintf("%s is not in %s (%s builds it)", module, archive, script)
	if os.Getenv(requireToolchainsVar) == "" {
		t.Skip(why)
	}
	t.Fatalf("%s, and %s is set", why, requireToolchainsVar)
}

var portMu sync.Mutex
var portsTaken = map[int]bool{}

// netPort picks a port below the kernel's ephemeral range (32768 up),
// so that no outgoing connection of the machine takes it meanwhile, that
// is free on 127.0.0.1 and on every address now and that this run has not
// handed out before.
func netPort(t *testing.T) int {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	for range 1000 {
		p := 20000 + rand.IntN(12000)
		if portsTaken[p] {
			continue
		}
		l, err := net.Listen("tcp", ":"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		l.Close()
		portsTaken[p] = true
		return p
	}
	t.Fatal("no free port between 20000 and 32000")
	return 0
}

// expectPortFree fails t when something still listens on addr: a
// listener the shim opened for a task that is gone.
func expectPortFree(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(settle)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			l.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s is still taken after the task ended: %v", addr, err)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitServing polls GET / at base until it answers 200, the server dies
// (alive reports false) or netReady passes.
func waitServing(t *testing.T, base string, alive func() bool) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	for {
		resp, err := c.Get(base + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Logf("%s answered %v after the start", base, time.Since(start).Round(time.Millisecond))
				return
			}
		}
		if !alive() {
			t.Fatalf("the server at %s exited before it answered (last error %v)", base, err)
		}
		if time.Since(start) > netReady {
			t.Fatalf("no answer from %s within %v: %v", base, netReady, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkServing runs the contract's requests that the issue names against
// a server at base: GET / and GET /file, a 1 MiB echo, and netConcurrent
// echoes at once, each on its own connection and with its own deadline.
func checkServing(t *testing.T, base, hello string) {
	t.Helper()
	c := &http.Client{Timeout: time.Minute}
	nettest.CheckHello(t, c, base, hello)
	nettest.CheckFile(t, c, base, []byte(netFile))
	body := nettest.Pattern(1 << 20)
	got, err := nettest.Echo(c, base, body)
	if err != nil {
		t.Fatalf("POST /echo of 1 MiB: %v", err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("POST /echo of 1 MiB: %d bytes came back, not the %d sent byte for byte", len(got), len(body))
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, netConcurrent)
	for i := range netConcurrent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
			body := nettest.Pattern(4096 + i)
			got, err := nettest.Echo(c, base, body)
			if err == nil && !bytes.Equal(got, body) {
				err = fmt.Errorf("request %d: the echo of %d bytes differs", i, len(body))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			failed++
			if failed <= 5 {
				t.Error(err)
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d concurrent requests failed", failed, netConcurrent)
	}
	t.Logf("%d concurrent echoes in %v", netConcurrent, time.Since(start).Round(time.Millisecond))
}

// stallRequest opens a connection to addr and sends half a request, so
// that a signal finds the server in the middle of serving it.
func stallRequest(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := fmt.Fprintf(conn, "POST /echo HTTP/1.1\r\nHost: %s\r\nContent-Length: 100\r\n\r\nhalf", addr); err != nil {
		t.Fatal(err)
	}
	return conn
}

// netKills are the signals TestNetServers ends a serving task with.
var netKills = []struct {
	name  string
	sig   syscall.Signal
	want  int
	timed bool
}{
	{"SIGTERM", syscall.SIGTERM, 143, true},
	{"SIGKILL", syscall.SIGKILL, 137, false},
}

// TestNetServers: each example server, given a listener on the host's
// network with WASI_TCP_LISTEN, serves the contract's requests from the
// host, through ctr run --net-host and through the Go client; SIGTERM
// while it serves ends it with 143 (within killLatency; the latency is
// logged), SIGKILL with 137, and nothing is left behind, the listening
// socket included.
func TestNetServers(t *testing.T) {
	needDaemon(t)
	for _, srv := range netServers {
		t.Run(srv.name, func(t *testing.T) {
			needNetImage(t, srv.module)
			for _, k := range netKills {
				t.Run("ctr-"+k.name, func(t *testing.T) {
					w := watchEvents(t)
					id := containerID(t)
					before := snapshotLeftovers(id)
					addr := "127.0.0.1:" + strconv.Itoa(netPort(t))
					ctrStartNet(t, id, []string{"--net-host", "--env", "WASI_TCP_LISTEN=" + addr}, srv.module)
					waitServing(t, "http://"+addr, func() bool { _, st := taskRow(t, id); return st == "RUNNING" })
					if k.timed {
						checkServing(t, "http://"+addr, srv.hello)
					}
					stallRequest(t, addr)
					ctrKillNet(t, w, id, k.name, k.want, k.timed)
					ctrDeleteNet(t, id)
					expectNoLeftovers(t, before, id)
					expectPortFree(t, addr)
				})
				t.Run("client-"+k.name, func(t *testing.T) {
					c, ctx := newClient(t)
					id := containerID(t)
					before := snapshotLeftovers(id)
					addr := "127.0.0.1:" + strconv.Itoa(netPort(t))
					ctr := newImageContainer(t, c, ctx, netImage, id,
						oci.WithProcessArgs(srv.module),
						oci.WithHostNamespace(specs.NetworkNamespace),
						oci.WithEnv([]string{"WASI_TCP_LISTEN=" + addr}))
					task, statusC := startGoTask(t, ctx, ctr, io.Discard)
					waitServing(t, "http://"+addr, func() bool { return len(statusC) == 0 })
					if k.timed {
						checkServing(t, "http://"+addr, srv.hello)
					}
					stallRequest(t, addr)
					killGoTask(t, ctx, task, statusC, k.sig, k.want, k.timed)
					if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil {
						t.Errorf("delete container: %v", err)
					}
					expectNoLeftovers(t, before, id)
					expectPortFree(t, addr)
				})
			}
		})
	}
}

// ctrStartNet starts module of the networking image with ctr run -d and
// removes the container when t ends, whatever state it is in.
func ctrStartNet(t *testing.T, id string, flags []string, module string) {
	t.Helper()
	ctrStartImage(t, id, netImage, flags, module)
}

// ctrStartImage starts image with ctr run -d (no args: its entrypoint)
// and removes the container when t ends, whatever state it is in.
func ctrStartImage(t *testing.T, id, image string, flags []string, args ...string) {
	t.Helper()
	a := append([]string{"run", "-d"}, runFlags()...)
	a = append(a, flags...)
	a = append(a, image, id)
	a = append(a, args...)
	t.Cleanup(func() { removeContainer(t, id) })
	if _, errOut, exit := runCtr(t, a...); exit != 0 {
		t.Fatalf("ctr run -d failed (%d): %s", exit, errOut)
	}
}

// ctrKillNet signals a task with ctr task kill and checks the status of
// its /tasks/exit event; timed bounds the latency by killLatency.
//
// The event can trail the module's end: after ctr run -d nobody reads the
// task's fifos, and the shim holds the exit up to its drainTimeout (2 s)
// for output still in them (c-server's start-up line, say). The process's
// own end is therefore measured and bounded too.
func ctrKillNet(t *testing.T, w *eventWatcher, id, signal string, want int, timed bool) {
	t.Helper()
	pid, _ := taskRow(t, id)
	start := time.Now()
	if _, errOut, exit := runCtr(t, "task", "kill", "-s", signal, id); exit != 0 {
		t.Fatalf("ctr task kill: %s", errOut)
	}
	gone := waitProcessEnd(pid, start, time.Minute)
	t.Logf("%s: task process %d ended %v after the kill (ctr's start-up included)", signal, pid, gone)
	if timed && gone > killLatency {
		t.Errorf("the task process ended %v after %s, want within %v", gone, signal, killLatency)
	}
	e, ok := w.wait(time.Minute, exitEvent(id))
	if !ok {
		t.Fatalf("no /tasks/exit for %s within a minute of %s", id, signal)
	}
	latency := e.at.Sub(start)
	t.Logf("%s: exit status %d after %v (ctr's start-up included)", signal, e.exitStatus(), latency)
	if got := e.exitStatus(); got != want {
		t.Errorf("exit status %d after %s, want %d", got, signal, want)
	}
	if timed && latency > killLatency {
		t.Errorf("the exit came %v after %s, want within %v", latency, signal, killLatency)
	}
}

// waitProcessEnd returns how long after start pid ended (exited, or
// became a zombie that its shim has yet to reap), polling up to timeout.
func waitProcessEnd(pid int, start time.Time, timeout time.Duration) time.Duration {
	for time.Since(start) < timeout {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || statField(stat, 3) == "Z" {
			break
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// ctrDeleteNet deletes a stopped task and its container with ctr.
func ctrDeleteNet(t *testing.T, id string) {
	t.Helper()
	runCtr(t, "task", "delete", id)
	if _, errOut, exit := runCtr(t, "containers", "delete", id); exit != 0 {
		t.Errorf("ctr containers delete: %s", errOut)
	}
}

// TestNetOwnNamespace: a server in a network namespace of its own (no
// --net-host, no WithHostNamespace) listens there and not on the host:
// it is reachable from a thread that enters the task's namespace, and
// the same port on the host's loopback is not listening.
func TestNetOwnNamespace(t *testing.T) {
	needDaemon(t)
	const module = "/c-server.wasm"
	needNetImage(t, module)
	t.Run("ctr", func(t *testing.T) {
		w := watchEvents(t)
		id := containerID(t)
		before := snapshotLeftovers(id)
		port := netPort(t)
		// Every address of the namespace: its loopback is down until
		// someone brings it up, so 127.0.0.1 is not there to bind yet.
		ctrStartNet(t, id, []string{"--env", "WASI_TCP_LISTEN=:" + strconv.Itoa(port)}, module)
		pid, _ := taskRow(t, id)
		checkInNamespace(t, pid, port, func() bool { _, st := taskRow(t, id); return st == "RUNNING" })
		ctrKillNet(t, w, id, "SIGTERM", 143, true)
		ctrDeleteNet(t, id)
		expectNoLeftovers(t, before, id)
	})
	t.Run("client", func(t *testing.T) {
		c, ctx := newClient(t)
		id := containerID(t)
		before := snapshotLeftovers(id)
		port := netPort(t)
		ctr := newImageContainer(t, c, ctx, netImage, id,
			oci.WithProcessArgs(module),
			oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace}),
			oci.WithEnv([]string{"WASI_TCP_LISTEN=:" + strconv.Itoa(port)}))
		task, statusC := startGoTask(t, ctx, ctr, io.Discard)
		checkInNamespace(t, int(task.Pid()), port, func() bool { return len(statusC) == 0 })
		killGoTask(t, ctx, task, statusC, syscall.SIGTERM, 143, true)
		if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil {
			t.Errorf("delete container: %v", err)
		}
		expectNoLeftovers(t, before, id)
	})
}

// checkInNamespace expects the task pid's network namespace to differ
// from ours, GET / to answer there on port, and nothing to listen on the
// host's 127.0.0.1:port.
func checkInNamespace(t *testing.T, pid, port int, alive func() bool) {
	t.Helper()
	self, _ := os.Readlink("/proc/self/ns/net")
	task, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		t.Fatalf("task pid %d: %v", pid, err)
	}
	if task == self {
		t.Fatalf("the task's network namespace %s is the host's", task)
	}
	var reply string
	start := time.Now()
	for {
		reply, err = getInNetns(pid, port)
		if err == nil && strings.HasPrefix(reply, "HTTP/1.1 200") {
			break
		}
		if !alive() {
			t.Fatalf("the server exited before it answered in its namespace (last: %v %q)", err, reply)
		}
		if time.Since(start) > netReady {
			t.Fatalf("no answer in the task's namespace %s within %v: %v %q", task, netReady, err, reply)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("in namespace %s: %q", task, reply)
	if !strings.HasSuffix(reply, "\r\n\r\nhello from c\n") {
		t.Errorf("GET / in the task's namespace: %q, want the body hello from c", reply)
	}
	if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second); err == nil {
		conn.Close()
		t.Errorf("127.0.0.1:%d accepts connections on the host: the listener is not (only) in the task's namespace", port)
	}
}

// getInNetns sends GET / to 127.0.0.1:port from a thread in pid's network
// namespace, with its loopback brought up, and returns the raw reply. The
// thread is locked and never unlocked, so the Go runtime ends it instead
// of reusing it in the wrong namespace.
func getInNetns(pid, port int) (string, error) {
	type result struct {
		reply string
		err   error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		reply, err := func() (string, error) {
			ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
			if err != nil {
				return "", err
			}
			defer ns.Close()
			if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
				return "", fmt.Errorf("setns: %w", err)
			}
			if err := loopbackUp(); err != nil {
				return "", err
			}
			conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
			if err != nil {
				return "", err
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: netns\r\nConnection: close\r\n\r\n"); err != nil {
				return "", err
			}
			b, err := io.ReadAll(conn)
			return string(b), err
		}()
		done <- result{reply, err}
	}()
	r := <-done
	return r.reply, r.err
}

// loopbackUp brings up lo in the calling thread's network namespace, as
// a CNI plugin would for a Pod: a new namespace's loopback starts down.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("get lo's flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	return nil
}

// netBadCase is a container that must fail at create with an error naming
// all of want, and leave nothing behind.
type netBadCase struct {
	name string
	env  string // WASI_TCP_LISTEN
	user bool   // run as 1000:1000 with ctr's default capabilities
	host string // the WASI host annotation
	want []string
	// free is an address that must be free again afterwards, if any.
	free string
}

// TestNetBadListen: a malformed WASI_TCP_LISTEN, an address in use, a
// privileged port for a user who may not bind it, and listeners under
// wasmtime's WASI host (which cannot take sockets) each fail create with
// an error naming the address, and leave no task, mount, cgroup, process
// or listening socket.
//
// The module is hello from the suite's own image: every case fails before
// it would run, and so needs no networking example.
func TestNetBadListen(t *testing.T) {
	needDaemon(t)
	held, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(netPort(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	inUse := held.Addr().String()
	wasmtimeAddr := "127.0.0.1:" + strconv.Itoa(netPort(t))
	cases := []netBadCase{
		{name: "no-port", env: "nope", want: []string{"nope", "host:port"}},
		{name: "port-zero", env: "1.2.3.4:0", want: []string{"1.2.3.4:0", "port"}},
		{name: "port-too-big", env: "localhost:99999", want: []string{"localhost:99999", "port"}},
		{name: "in-use", env: inUse, want: []string{inUse, "address already in use"}},
		{name: "privileged-port", env: "127.0.0.1:80", user: true, want: []string{"127.0.0.1:80", "permission denied"}},
		{name: "wasmtime-host", env: wasmtimeAddr, host: "wasmtime", want: []string{wasmtimeAddr, "wasmtime"}, free: wasmtimeAddr},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("ctr", func(t *testing.T) {
				flags := []string{"--net-host", "--env", "WASI_TCP_LISTEN=" + tc.env}
				if tc.user {
					if !ctrHasFlag(t, "--user", "run") {
						t.Skipf("ctr %s run has no --user; the client subtest covers the case", suite.daemon.Version)
					}
					flags = append(flags, "--user", "1000:1000")
				}
				if tc.host != "" {
					flags = append(flags, "--annotation", wasiHostAnnotation+"="+tc.host)
				}
				id := containerID(t)
				before := snapshotLeftovers(id)
				expectCtrRunFails(t, id, ctrRunArgs(id, flags, helloModule), tc.want)
				expectNoLeftovers(t, before, id)
				if tc.free != "" {
					expectPortFree(t, tc.free)
				}
			})
			t.Run("client", func(t *testing.T) {
				c, ctx := newClient(t)
				id := containerID(t)
				before := snapshotLeftovers(id)
				opts := []oci.SpecOpts{
					oci.WithHostNamespace(specs.NetworkNamespace),
					oci.WithEnv([]string{"WASI_TCP_LISTEN=" + tc.env}),
				}
				if tc.user {
					opts = append(opts, oci.WithUIDGID(1000, 1000))
				}
				if tc.host != "" {
					opts = append(opts, oci.WithAnnotations(map[string]string{wasiHostAnnotation: tc.host}))
				}
				ctr := newContainer(t, c, ctx, id, []string{helloModule}, opts...)
				expectCreateFails(t, ctx, ctr, tc.want)
				expectNoLeftovers(t, before, id)
				if tc.free != "" {
					expectPortFree(t, tc.free)
				}
			})
		})
	}
}

// expectCtrRunFails runs ctr with args, a `ctr run --rm` of container id,
// and expects it to fail with an error naming all of want and to leave no
// container.
func expectCtrRunFails(t *testing.T, id string, args, want []string) {
	t.Helper()
	out, errOut, exit := runCtr(t, args...)
	if exit == 0 {
		t.Errorf("ctr run exited 0")
	}
	if !namesProblem(out+errOut, want, nil) {
		t.Errorf("the error does not name all of %q:\n%s%s", want, out, errOut)
	}
	if ls, _, _ := runCtr(t, "containers", "ls", "-q"); hasLine(ls, id) {
		t.Errorf("container %s still listed after ctr run --rm failed", id)
		removeContainer(t, id)
	}
}

// expectCreateFails expects NewTask of ctr to fail with an error naming
// all of want, and deletes the container.
func expectCreateFails(t *testing.T, ctx context.Context, ctr client.Container, want []string) {
	t.Helper()
	task, err := ctr.NewTask(ctx, goIO(nil, nil, nil))
	if err == nil {
		task.Delete(ctx, client.WithProcessKill)
		t.Errorf("NewTask succeeded")
	} else {
		t.Logf("refused at create: %v", err)
		if !namesProblem(err.Error(), want, nil) {
			t.Errorf("the error does not name all of %q: %v", want, err)
		}
	}
	if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil {
		t.Errorf("delete container: %v", err)
	}
}

// TestWASIHostWasmtime: a plain module runs on wasmtime's own WASI host
// when the annotation asks for it, and a value that names no host fails
// create with an error naming the annotation.
func TestWASIHostWasmtime(t *testing.T) {
	needDaemon(t)
	t.Run("ctr", func(t *testing.T) {
		out, errOut, exit := runCtr(t, ctrRunArgs(containerID(t), []string{"--annotation", wasiHostAnnotation + "=wasmtime"}, helloModule, "a")...)
		checkHello(t, exit, out, errOut, "a")
	})
	t.Run("client", func(t *testing.T) {
		r := runGo(t, []string{helloModule, "b"}, nil, nil, oci.WithAnnotations(map[string]string{wasiHostAnnotation: "wasmtime"}))
		checkHello(t, int(r.exit), r.stdout, r.stderr, "b")
	})
	want := []string{wasiHostAnnotation, "wasmer"}
	t.Run("ctr-bad-value", func(t *testing.T) {
		id := containerID(t)
		before := snapshotLeftovers(id)
		out, errOut, exit := runCtr(t, ctrRunArgs(id, []string{"--annotation", wasiHostAnnotation + "=wasmer"}, helloModule)...)
		if exit == 0 || !namesProblem(out+errOut, want, nil) {
			t.Errorf("want a failure naming all of %q, got exit %d:\n%s%s", want, exit, out, errOut)
		}
		if ls, _, _ := runCtr(t, "containers", "ls", "-q"); hasLine(ls, id) {
			t.Errorf("container %s still listed after ctr run --rm failed", id)
			removeContainer(t, id)
		}
		expectNoLeftovers(t, before, id)
	})
	t.Run("client-bad-value", func(t *testing.T) {
		c, ctx := newClient(t)
		id := containerID(t)
		before := snapshotLeftovers(id)
		ctr := newContainer(t, c, ctx, id, []string{helloModule}, oci.WithAnnotations(map[string]string{wasiHostAnnotation: "wasmer"}))
		expectCreateFails(t, ctx, ctr, want)
		expectNoLeftovers(t, before, id)
	})
}

// The WASI preview 1 conformance tests (WebAssembly/wasi-testsuite), read
// from the checkout that CI places beside the repository (its README says
// how each test runs). E2E_WASI_TESTSUITE names another checkout.
const (
	wasiTestsuiteVar = "E2E_WASI_TESTSUITE"
	// wasiTestModuleDir holds the modules in each test image, away from
	// the names the tests create in their root.
	wasiTestModuleDir = "/.wasi-testsuite"
	// wasiTestWorkers runs that many tests at once: each is a shim and a
	// short module, mostly waiting on containerd.
	wasiTestWorkers = 6
	wasiTestTimeout = time.Minute
)

// wasiTest is one test of the suite and what it expects.
type wasiTest struct {
	name   string // lang/test
	image  string // the image of its language: its modules and its root
	module string
	args   []string
	env    []string // exactly the process's environment
	exit   int
	stdout *string
}

// wasiTestsuiteDir finds the suite, or "" when it is not there.
func wasiTestsuiteDir() string {
	if dir := os.Getenv(wasiTestsuiteVar); dir != "" {
		return dir
	}
	dir := filepath.Join(suite.repo, "..", "shared", "wasi-testsuite")
	if _, err := os.Stat(filepath.Join(dir, "tests")); err != nil {
		return ""
	}
	return dir
}

// wasiTestSpec is a test's NAME.json; missing keys take the defaults.
type wasiTestSpec struct {
	Args     []string          `json:"args"`
	Env      map[string]string `json:"env"`
	Root     string            `json:"root"`
	ExitCode int               `json:"exit_code"`
	Stdout   *string           `json:"stdout"`
}

// buildWASITestImages builds and imports one image per language of the
// suite: its modules under wasiTestModuleDir and the contents of its root
// directory (the one root its tests name, which the suite preopens as the
// guest's /) at the image's /, and returns every test.
func buildWASITestImages(t *testing.T, dir string) []wasiTest {
	t.Helper()
	d := suite.daemon
	langs, err := filepath.Glob(filepath.Join(dir, "tests", "*", "testsuite", "wasm32-wasip1"))
	if err != nil || len(langs) == 0 {
		t.Fatalf("no tests/*/testsuite/wasm32-wasip1 in %s: %v", dir, err)
	}
	var tests []wasiTest
	out := t.TempDir()
	for _, langDir := range langs {
		lang := filepath.Base(filepath.Dir(filepath.Dir(langDir)))
		ref := "localhost/wasm/e2e-wasi-testsuite-" + lang + "-" + d.token + ":v1"
		modules, err := filepath.Glob(filepath.Join(langDir, "*.wasm"))
		if err != nil || len(modules) == 0 {
			t.Fatalf("no modules in %s: %v", langDir, err)
		}
		var files []string
		roots := map[string]bool{}
		for _, m := range modules {
			name := strings.TrimSuffix(filepath.Base(m), ".wasm")
			var spec wasiTestSpec
			if b, err := os.ReadFile(strings.TrimSuffix(m, ".wasm") + ".json"); err == nil {
				if err := json.Unmarshal(b, &spec); err != nil {
					t.Fatalf("%s.json: %v", name, err)
				}
			} else if !os.IsNotExist(err) {
				t.Fatal(err)
			}
			module := wasiTestModuleDir + "/" + name + ".wasm"
			files = append(files, m+":"+module)
			if spec.Root != "" {
				roots[spec.Root] = true
			}
			env := []string{}
			for k, v := range spec.Env {
				env = append(env, k+"="+v)
			}
			sort.Strings(env)
			tests = append(tests, wasiTest{
				name: lang + "/" + name, image: ref, module: module,
				args: spec.Args, env: env, exit: spec.ExitCode, stdout: spec.Stdout,
			})
		}
		if len(roots) > 1 {
			t.Fatalf("%s: tests name %d root directories; one image per language holds one", langDir, len(roots))
		}
		for root := range roots {
			base := filepath.Join(langDir, root)
			err := filepath.WalkDir(base, func(p string, e os.DirEntry, err error) error {
				if err != nil || e.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(base, p)
				files = append(files, p+":/"+filepath.ToSlash(rel))
				return nil
			})
			if err != nil {
				t.Fatalf("root %s: %v", base, err)
			}
		}
		archive := filepath.Join(out, lang+".tar")
		importWasmImage(t, archive, ref, files...)
	}
	return tests
}

// wasiTestResult is one run of a test: pass, or why not.
type wasiTestResult struct {
	pass bool
	why  string
}

// runWASITest runs tc through the Go client on the given WASI host ("" for
// the default) and compares its exit status and stdout. An error is a
// failure of the test's machinery rather than of the shim.
func runWASITest(ctx context.Context, c *client.Client, id string, tc wasiTest, host string) (wasiTestResult, error) {
	ctx, cancel := context.WithTimeout(ctx, wasiTestTimeout)
	defer cancel()
	img, err := c.GetImage(ctx, tc.image)
	if err != nil {
		return wasiTestResult{}, fmt.Errorf("get image %s: %w", tc.image, err)
	}
	opts := []oci.SpecOpts{
		oci.WithImageConfig(img),
		oci.WithProcessArgs(append([]string{tc.module}, tc.args...)...),
		oci.WithProcessCwd("/"),
		// Exactly the test's variables: ctr always adds PATH.
		func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			s.Process.Env = tc.env
			return nil
		},
	}
	if host != "" {
		opts = append(opts, oci.WithAnnotations(map[string]string{wasiHostAnnotation: host}))
	}
	ctr, err := c.NewContainer(ctx, id,
		client.WithImage(img),
		client.WithNewSnapshot(id+"-snapshot", img),
		client.WithRuntime(runtimeName, nil),
		client.WithNewSpec(opts...))
	if err != nil {
		return wasiTestResult{}, fmt.Errorf("new container: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), suite.daemon.ns), time.Minute)
		defer cancel()
		if task, err := ctr.Task(cctx, nil); err == nil {
			task.Delete(cctx, client.WithProcessKill)
		}
		ctr.Delete(cctx, client.WithSnapshotCleanup)
	}()
	var stdout, stderr bytes.Buffer
	task, err := ctr.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, &stdout, &stderr), cio.WithFIFODir(suite.daemon.fifoDir)))
	if err != nil {
		return wasiTestResult{why: "create: " + err.Error()}, nil
	}
	statusC, err := task.Wait(ctx)
	if err != nil {
		return wasiTestResult{}, fmt.Errorf("wait: %w", err)
	}
	if err := task.Start(ctx); err != nil {
		return wasiTestResult{why: "start: " + err.Error()}, nil
	}
	var st client.ExitStatus
	select {
	case st = <-statusC:
	case <-ctx.Done():
		return wasiTestResult{why: fmt.Sprintf("no exit within %v", wasiTestTimeout)}, nil
	}
	// Delete waits for the output copies to finish.
	if _, err := task.Delete(ctx); err != nil {
		return wasiTestResult{}, fmt.Errorf("delete task: %w", err)
	}
	var why []string
	if int(st.ExitCode()) != tc.exit {
		why = append(why, fmt.Sprintf("exit %d, want %d", st.ExitCode(), tc.exit))
	}
	if tc.stdout != nil && stdout.String() != *tc.stdout {
		why = append(why, fmt.Sprintf("stdout %q, want %q", clip(stdout.String()), *tc.stdout))
	}
	if len(why) > 0 {
		if s := strings.TrimSpace(stderr.String()); s != "" {
			why = append(why, "stderr "+strconv.Quote(clip(s)))
		}
		return wasiTestResult{why: strings.Join(why, "; ")}, nil
	}
	return wasiTestResult{pass: true}, nil
}

// TestWASITestsuite runs every wasm32-wasip1 test of the WASI test suite
// through the shim, once on the default Go WASI host and once on
// wasmtime's (the annotation), with each test's arguments, exact
// environment and root, and expects the Go host to pass every test that
// wasmtime's passes. Both scores and lists are logged.
//
// c/sock_shutdown-invalid_fd fails on both hosts through the shim: it
// expects fd 3 to be closed (EBADF), and in a container fd 3 is always the
// preopened rootfs (ENOTSOCK); the suite's runner preopens nothing for a
// test without a root.
func TestWASITestsuite(t *testing.T) {
	needDaemon(t)
	dir := wasiTestsuiteDir()
	if dir == "" {
		t.Skipf("no WASI test suite at ../shared/wasi-testsuite (or %s)", wasiTestsuiteVar)
	}
	start := time.Now()
	tests := buildWASITestImages(t, dir)
	t.Logf("%d tests, images built and imported in %v", len(tests), time.Since(start).Round(time.Millisecond))
	hosts := []string{"go", "wasmtime"}
	type job struct {
		test int
		host string
	}
	jobs := make(chan job)
	results := map[string][]wasiTestResult{}
	for _, h := range hosts {
		results[h] = make([]wasiTestResult, len(tests))
	}
	c, ctx := newClient(t)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	start = time.Now()
	for range wasiTestWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				host := j.host
				if host == "go" {
					host = "" // the default, as a container without the annotation gets
				}
				r, err := runWASITest(ctx, c, containerID(t), tests[j.test], host)
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("%s on %s: %w", tests[j.test].name, j.host, err))
				}
				results[j.host][j.test] = r
				mu.Unlock()
			}
		}()
	}
	for i := range tests {
		for _, h := range hosts {
			jobs <- job{i, h}
		}
	}
	close(jobs)
	wg.Wait()
	t.Logf("%d runs in %v with %d at once", len(tests)*len(hosts), time.Since(start).Round(time.Millisecond), wasiTestWorkers)
	for _, err := range errs {
		t.Error(err)
	}
	for _, h := range hosts {
		var passed, failed []string
		for i, r := range results[h] {
			if r.pass {
				passed = append(passed, tests[i].name)
			} else {
				failed = append(failed, tests[i].name+": "+r.why)
			}
		}
		t.Logf("WASI host %s: %d of %d pass\npassed: %s\nfailed:\n  %s", h, len(passed), len(tests),
			strings.Join(passed, " "), strings.Join(failed, "\n  "))
	}
	goPassed := 0
	for i := range tests {
		if results["go"][i].pass {
			goPassed++
		}
		if results["wasmtime"][i].pass && !results["go"][i].pass {
			t.Errorf("%s passes on wasmtime's WASI host but not on the Go host: %s", tests[i].name, results["go"][i].why)
		}
	}
	if goPassed == 0 {
		t.Errorf("the Go WASI host passed none of the %d tests", len(tests))
	}
}
