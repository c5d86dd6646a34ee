package taskchild

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

// fakeServer serves a line protocol: a client sends "sleep N" and gets
// "done" N milliseconds later, and the server logs each request on the
// task's stdout. args[1] picks how it stops: "graceful" lets requests in
// flight finish within the grace, "stubborn" waits for them however long
// they take (the child's own bound must end it), "fail" cannot serve.
type fakeServer struct{ fakeProgram }

func (s fakeServer) Serve(l net.Listener, opts ServeOptions) error {
	if s.spec.Args[1] == "fail" {
		return errors.New("the fake cannot serve")
	}
	fmt.Fprintf(opts.Stdout, "fake: at most %d in flight\n", opts.MaxInFlight)
	var wg sync.WaitGroup
	go func() {
		<-opts.Stop
		l.Close()
	}()
	for {
		conn, err := l.Accept()
		if err != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			line, _ := bufio.NewReader(conn).ReadString('\n')
			fmt.Fprintf(opts.Stdout, "fake: %s", line)
			ms, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "sleep ")))
			time.Sleep(time.Duration(ms) * time.Millisecond)
			io.WriteString(conn, "done\n")
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	if s.spec.Args[1] == "stubborn" {
		<-done
		return nil
	}
	select {
	case <-done:
	case <-time.After(opts.Grace):
	}
	return nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l := listenLoopback(t)
	defer l.Close()
	return l.Addr().String()
}

// listenLoopback listens on a free loopback port.
func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// spawnServer spawns the fake server on a free loopback address and
// starts it; its output goes to the returned pipe.
func spawnServer(t *testing.T, mode string) (*Child, string, *os.File) {
	t.Helper()
	return spawnServerSpec(t, Spec{ModulePath: "server", Args: []string{"/m.wasm", mode}})
}

// spawnServerSpec spawns and starts the fake server of spec at a free
// address; the third result reads its stdout and stderr.
func spawnServerSpec(t *testing.T, spec Spec) (*Child, string, *os.File) {
	t.Helper()
	addr := freeAddr(t)
	spec.HTTPProxyAddr = addr
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	c, err := Spawn(context.Background(), Options{
		Spec:   spec,
		Stdout: w, Stderr: w,
	})
	w.Close()
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	t.Cleanup(func() { _ = c.Signal(syscall.SIGKILL) })
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return c, addr, r
}

// request sends "sleep ms" and returns a channel that gets the reply (or
// the error) once it comes.
func request(t *testing.T, addr string, ms int) <-chan string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := fmt.Fprintf(conn, "sleep %d\n", ms); err != nil {
		t.Fatal(err)
	}
	reply := make(chan string, 1)
	go func() {
		b, err := io.ReadAll(conn)
		if err != nil {
			reply <- err.Error()
			return
		}
		reply <- string(b)
	}()
	return reply
}

// waitFor reads lines of out until one equals want.
func waitFor(t *testing.T, out *bufio.Reader, want string) {
	t.Helper()
	for {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("no line %q in the output: %v", want, err)
		}
		if strings.TrimSpace(line) == want {
			return
		}
	}
}

// waitStatus returns the child's exit status and how long after from it
// came.
func waitStatus(c *Child, from time.Time) (int, time.Duration) {
	st := c.Wait().Status
	return st, time.Since(from)
}

// The listener is open when Spawn returns, before Start: an address in
// use fails the create, and a client that connects early is served once
// the task starts.
func TestServerListensBeforeReady(t *testing.T) {
	addr := freeAddr(t)
	c, err := Spawn(context.Background(), Options{Spec: Spec{ModulePath: "server", Args: []string{"/m.wasm", "graceful"}, HTTPProxyAddr: addr}})
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	t.Cleanup(func() { _ = c.Signal(syscall.SIGKILL) })
	if !strings.Contains(c.Detail(), "serving wasi:http on "+addr) {
		t.Errorf("detail %q does not name the address %s", c.Detail(), addr)
	}
	early := request(t, addr, 0)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-early:
		if got != "done\n" {
			t.Fatalf("reply %q, want done", got)
		}
	case <-time.After(time.Minute):
		t.Fatal("no reply to the early client")
	}
	_ = c.Signal(syscall.SIGTERM)
	if st := c.Wait().Status; st != 143 {
		t.Fatalf("exit status %d, want 143", st)
	}
}

// The first SIGTERM or SIGINT lets the request in flight finish, then
// the child exits with 128+signal; the guest's output reaches the task's
// stdout.
func TestServerStopsGracefully(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			c, addr, out := spawnServer(t, "graceful")
			lines := bufio.NewReader(out)
			const ms = 700
			reply := request(t, addr, ms)
			waitFor(t, lines, fmt.Sprintf("fake: sleep %d", ms))
			from := time.Now()
			if err := c.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if got := <-reply; got != "done\n" {
				t.Errorf("the request in flight got %q, want done", got)
			}
			st, took := waitStatus(c, from)
			if st != 128+int(sig) {
				t.Errorf("exit status %d, want %d", st, 128+int(sig))
			}
			if took < ms/2*time.Millisecond {
				t.Errorf("exited %v after the signal, before the request in flight could finish", took)
			}
		})
	}
}

// A second signal while the server stops, a terminating signal other than
// SIGTERM and SIGINT, and SIGKILL all end a serving child at once.
func TestServerEndsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		sigs []syscall.Signal
		want int
	}{
		{"second-SIGTERM", []syscall.Signal{syscall.SIGTERM, syscall.SIGTERM}, 143},
		{"SIGINT-then-SIGTERM", []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}, 143},
		{"SIGHUP", []syscall.Signal{syscall.SIGHUP}, 129},
		{"SIGKILL", []syscall.Signal{syscall.SIGKILL}, 137},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, addr, out := spawnServer(t, "stubborn")
			reply := request(t, addr, 60_000)
			waitFor(t, bufio.NewReader(out), "fake: sleep 60000")
			from := time.Now()
			for i, sig := range tc.sigs {
				if i > 0 {
					time.Sleep(100 * time.Millisecond) // the first one is being handled
				}
				if err := c.Signal(sig); err != nil {
					t.Fatal(err)
				}
			}
			st, took := waitStatus(c, from)
			if st != tc.want {
				t.Errorf("exit status %d, want %d", st, tc.want)
			}
			if took >= ServeGrace {
				t.Errorf("exited %v after the signal, not at once (the grace is %v)", took, ServeGrace)
			}
			if got := <-reply; got == "done\n" {
				t.Errorf("the request in flight finished, in a child that should have ended at once")
			}
		})
	}
}

// A server that does not stop within ServeGrace is ended by the child.
func TestServerGraceBoundsTheStop(t *testing.T) {
	c, addr, out := spawnServer(t, "stubborn")
	request(t, addr, 60_000)
	waitFor(t, bufio.NewReader(out), "fake: sleep 60000")
	from := time.Now()
	if err := c.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	st, took := waitStatus(c, from)
	if st != 143 {
		t.Errorf("exit status %d, want 143", st)
	}
	if took < ServeGrace || took > ServeGrace+10*time.Second {
		t.Errorf("exited %v after SIGTERM, want just after the grace of %v", took, ServeGrace)
	}
}

// A server that cannot serve ends the task with 1 and says why.
func TestServerErrorEndsTheTask(t *testing.T) {
	c, _, out := spawnServer(t, "fail")
	if st := c.Wait().Status; st != 1 {
		t.Errorf("exit status %d, want 1", st)
	}
	if got, _ := io.ReadAll(out); !strings.Contains(string(got), "the fake cannot serve") {
		t.Errorf("output %q does not say why", got)
	}
}

// The server's listener fails the spawn, naming the variable or the
// address, with a class containerd can tell apart; a module is not
// refused for an address it never listens on.
func TestServerListenerErrors(t *testing.T) {
	busy := listenLoopback(t)
	defer busy.Close()
	start := 1024
	for _, tc := range []struct {
		name   string
		addr   string
		listen []string
		bind   *BindPolicy
		class  error
		want   []string
	}{
		{"malformed", "nope", nil, nil, errdefs.ErrInvalidArgument, []string{`WASMTIME_HTTP_PROXY_SOCKET_ADDR="nope"`, "host:port"}},
		{"a name", "example.com:80", nil, nil, errdefs.ErrInvalidArgument, []string{"example.com", "not an IP address"}},
		{"in use", busy.Addr().String(), nil, nil, errdefs.ErrFailedPrecondition, []string{"WASMTIME_HTTP_PROXY_SOCKET_ADDR", busy.Addr().String()}},
		{"privileged", "127.0.0.1:80", nil, &BindPolicy{UnprivilegedPortStart: &start}, errdefs.ErrPermissionDenied, []string{"127.0.0.1:80", "CAP_NET_BIND_SERVICE"}},
		{"not ours", "192.0.2.77:8080", nil, nil, errdefs.ErrInvalidArgument, []string{"192.0.2.77:8080"}},
		{"with WASI_TCP_LISTEN", freeAddr(t), []string{freeAddr(t)}, nil, errdefs.ErrInvalidArgument, []string{"WASI_TCP_LISTEN=", "WASMTIME_HTTP_PROXY_SOCKET_ADDR"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Spawn(context.Background(), Options{Spec: Spec{
				ModulePath: "server", Args: []string{"/m.wasm", "graceful"}, HTTPProxyAddr: tc.addr, Listen: tc.listen, Bind: tc.bind,
			}})
			if err == nil || !errors.Is(err, tc.class) {
				t.Fatalf("spawn: %v; want %v", err, tc.class)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	t.Run("a module", func(t *testing.T) {
		c, err := Spawn(context.Background(), Options{Spec: Spec{ModulePath: "ok", Args: []string{"/m.wasm", "exit", "0"}, HTTPProxyAddr: "nope"}})
		if err != nil {
			t.Fatalf("a module was refused for the wasi:http address: %v", err)
		}
		c.release()
		c.Wait()
	})
}

// The signal logic itself, with a recorded exit and a short grace.
func TestSignals(t *testing.T) {
	newSignals := func() (*signals, chan int) {
		exits := make(chan int, 4)
		return &signals{exit: func(st int) { exits <- st }, grace: 200 * time.Millisecond}, exits
	}
	expectExit := func(t *testing.T, exits chan int, want int, within time.Duration) {
		t.Helper()
		select {
		case got := <-exits:
			if got != want {
				t.Fatalf("exit %d, want %d", got, want)
			}
		case <-time.After(within):
			t.Fatalf("no exit within %v", within)
		}
	}
	t.Run("not serving", func(t *testing.T) {
		s, exits := newSignals()
		s.handle(syscall.SIGTERM)
		expectExit(t, exits, 143, time.Millisecond)
	})
	t.Run("serving, grace passes", func(t *testing.T) {
		s, exits := newSignals()
		stop := s.serving()
		s.handle(syscall.SIGINT)
		select {
		case <-stop:
		default:
			t.Fatal("SIGINT did not close stop")
		}
		if len(exits) != 0 {
			t.Fatal("SIGINT ended a serving child at once")
		}
		if got := s.stoppedBy(); got != syscall.SIGINT {
			t.Fatalf("stoppedBy = %v, want SIGINT", got)
		}
		expectExit(t, exits, 130, 5*time.Second)
	})
	t.Run("serving, second signal", func(t *testing.T) {
		s, exits := newSignals()
		s.grace = time.Hour
		s.serving()
		s.handle(syscall.SIGTERM)
		s.handle(syscall.SIGTERM)
		expectExit(t, exits, 143, time.Millisecond)
	})
	t.Run("serving, another signal", func(t *testing.T) {
		s, exits := newSignals()
		stop := s.serving()
		s.handle(syscall.SIGUSR1)
		expectExit(t, exits, 128+int(syscall.SIGUSR1), time.Millisecond)
		select {
		case <-stop:
			t.Fatal("SIGUSR1 closed stop")
		default:
		}
	})
}

// A server whose output reader went away (ctr run -d exits at once) keeps
// serving: its writes fail instead of killing it with SIGPIPE.
func TestServerOutlivesItsOutputReader(t *testing.T) {
	c, addr, out := spawnServer(t, "graceful")
	out.Close()
	for i := range 2 {
		if got := <-request(t, addr, 0); got != "done\n" {
			t.Fatalf("request %d after the output's reader closed: %q, want done", i, got)
		}
	}
	_ = c.Signal(syscall.SIGTERM)
	if st := c.Wait().Status; st != 143 {
		t.Fatalf("exit status %d, want 143", st)
	}
}

// Without the variable a server listens at runwasi's default, and an error
// says that the address is the default.
func TestHTTPProxyAddrDefault(t *testing.T) {
	addr, source, err := httpProxyAddr(Spec{})
	if err != nil || addr != "0.0.0.0:8080" || !strings.Contains(source, "WASMTIME_HTTP_PROXY_SOCKET_ADDR (not set") {
		t.Errorf("httpProxyAddr of no setting = %q, %q, %v; want 0.0.0.0:8080 named as the default", addr, source, err)
	}
	addr, source, err = httpProxyAddr(Spec{HTTPProxyAddr: "localhost:9000"})
	if err != nil || addr != "127.0.0.1:9000" || source != "WASMTIME_HTTP_PROXY_SOCKET_ADDR" {
		t.Errorf("httpProxyAddr of localhost:9000 = %q, %q, %v", addr, source, err)
	}
}

// WASI_HTTP_MAX_IN_FLIGHT reaches the server.
func TestServerMaxInFlight(t *testing.T) {
	c, _, out := spawnServerSpec(t, Spec{ModulePath: "server", Args: []string{"/m.wasm", "graceful"}, HTTPMaxInFlight: 7})
	waitFor(t, bufio.NewReader(out), "fake: at most 7 in flight")
	_ = c.Signal(syscall.SIGTERM)
	if st := c.Wait().Status; st != 143 {
		t.Fatalf("exit status %d, want 143", st)
	}
}
