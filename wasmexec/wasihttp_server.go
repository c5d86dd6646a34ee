package wasmexec

// Serving a wasi:http/proxy component: an HTTP/1.1 server (net/http,
// keep-alive) that instantiates the component for each request, calls
// its wasi:http/incoming-handler.handle with the request and a response
// outparam, and closes the instance.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// HTTPProxy is what Prepare returns for a component that exports
// wasi:http/incoming-handler@0.2.x and no wasi:cli/run: a server. Run
// does not serve (it reports that the program is a server and returns
// 1); Serve does, and Close frees the component afterwards.
type HTTPProxy interface {
	Program
	// Serve answers HTTP/1.1 requests on l until opts.Stop is closed,
	// then stops accepting and lets the requests in flight finish
	// (bounded by opts.Grace), and returns nil. It returns an error if
	// l fails. It does not close l before the stop.
	Serve(l net.Listener, opts ServeOptions) error
}

// ServeOptions are how an HTTPProxy serves.
type ServeOptions struct {
	// Stop is closed to stop serving (SIGTERM, SIGINT).
	Stop <-chan struct{}
	// Grace bounds how long the requests in flight may take after Stop;
	// then Serve closes their connections and returns.
	Grace time.Duration
	// Stdout and Stderr receive the guest's wasi:cli stdout and stderr,
	// a line at a time (lines of concurrent requests do not mix); the
	// server's own messages (a trapping request) go to Stderr. nil
	// discards.
	Stdout, Stderr io.Writer
	// MaxInFlight bounds the instances alive at once; more requests
	// wait for one to finish. 0 is DefaultMaxInFlight.
	MaxInFlight int

	// maxRunning and turnBudget replace runningBound's result and
	// defaultTurnBudget (tests).
	maxRunning int
	turnBudget time.Duration
}

// runningBound is how many instances may run guest code at once (an
// instance that waits on I/O does not count): twice the Ps that run Go
// code, so that a core whose instance is in a host call's syscall has
// another to run, and no more, so that a burst of requests does not
// become as many instances, each with its memory and a thread, taking
// turns on the cores. Requests beyond it wait in Go, before they have an
// instance.
func runningBound() int { return max(2, 2*runtime.GOMAXPROCS(0)) }

// defaultTurnBudget is how long an instance may compute without waiting
// before it gives its running token up and computes on without one: a
// guest that loops (or a long computation) must not hold one of a few
// tokens and stall every other request. It then competes for the cores
// as every instance did before the tokens.
const defaultTurnBudget = 100 * time.Millisecond

// turn is a request's claim on one of the server's running tokens.
type turn struct {
	gate   chan struct{}
	budget time.Duration
	mu     sync.Mutex // guards held and timer against the budget's timer
	held   bool
	timer  *time.Timer
}

// start takes a token for the request; false if ctx ended first.
func (t *turn) start(ctx context.Context) bool {
	select {
	case t.gate <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	t.took()
	return true
}

// resume takes a token again after a wait.
func (t *turn) resume() {
	t.gate <- struct{}{}
	t.took()
}

// took starts the budget of the token just taken.
func (t *turn) took() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.held = true
	if t.timer == nil {
		t.timer = time.AfterFunc(t.budget, t.yield)
	} else {
		t.timer.Reset(t.budget)
	}
}

// yield gives the token up, if the request still holds it: before a
// wait, at the end, or when the budget ran out.
func (t *turn) yield() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timer.Stop()
	if t.held {
		t.held = false
		<-t.gate
	}
}

// DefaultMaxInFlight is the default bound on concurrent instances. A
// request holds its instance (and an OS thread, when the guest blocks
// in a host call) for as long as it runs, including while it waits on
// a slow client or an upstream, so the bound is set by what such waits
// may pin rather than by the cores: 1,024 threads are far below Go's
// limit of 10,000, and an instance's memory is paged in copy-on-write
// from the compiled image, so idle-waiting instances cost little.
// Each instance's memory is bounded by Config.MaxMemoryBytes, and the
// container's memory limit bounds them all. The instances come from a
// pool of this many (wasihttp_pool.go), which reserves 8 TiB of address
// space (2 memories of 4 GiB each, reserved, never committed, per
// instance), 6% of x86-64's and arm64's 47/48-bit user space; where that
// cannot be reserved, the default bound halves until it can (down to 64).
const DefaultMaxInFlight = 1024

// incomingHandlerBase is the export that makes a component a server.
const incomingHandlerBase = "wasi:http/incoming-handler"

// httpProxy is a wasi:http/proxy component prepared to serve: compiled,
// its imports defined once on a linker, the handle export found.
type httpProxy struct {
	*servedComponent // on the default engine, made by Prepare
	handlerExport    string
	imports          []string
	cfg              Config
	env              [][2]string
	stats            Stats
	client           *http.Client

	// pools are the pooling engines Serve made (one per Serve call),
	// freed by Close.
	poolMu sync.Mutex // guards pools
	pools  []*servedComponent

	inFlight  atomic.Int64 // requests in ServeHTTP
	closed    atomic.Bool  // Close was called: no request may start
	closeOnce sync.Once
}

// servedComponent is the component loaded into one engine, with the
// linker built for that engine and the handle export found in it.
type servedComponent struct {
	compiler *componentCompiler
	comp     *componentArtifact
	linker   *hostLinker
	world    *p2World
	types    *httpTypes
	handle   *exportedFunc
	maxMem   int64
	pooled   bool // the engine has a pooling allocator
}

// prepare builds the linker from the component's imports and checks
// that an instance can be made.
func (p *httpProxy) prepare(cfg Config, handlerExport string) error {
	p.cfg = cfg
	p.handlerExport = handlerExport
	for _, kv := range cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		p.env = append(p.env, [2]string{k, v})
	}
	imports, err := componentImports(p.comp)
	if err != nil {
		return fmt.Errorf("%s: read the component's imports: %w", cfg.ModulePath, err)
	}
	p.imports = imports
	p.client = newHTTPClient()
	if err := p.link(p.servedComponent); err != nil {
		return fmt.Errorf("%s: %w", cfg.ModulePath, err)
	}
	// One instance now, so that a component that cannot be instantiated
	// (a type mismatch, a start function that traps, memory beyond the
	// limit) fails Prepare rather than every request.
	return p.check(p.servedComponent)
}

// link defines the component's imports on a linker of sc's engine and
// finds its handle export.
func (p *httpProxy) link(sc *servedComponent) error {
	var err error
	sc.maxMem = p.cfg.MaxMemoryBytes
	sc.linker = newHostLinker(sc.compiler)
	sc.world = newP2World(sc.linker)
	if err := sc.world.defineImports(p.imports); err != nil {
		return fmt.Errorf("%w: %w", ErrUnsupportedImport, err)
	}
	// The handler's own types: incoming-request and response-outparam
	// are defined even when the component imports nothing of
	// wasi:http/types by name (it always does: handle takes them).
	sc.types = httpTypesOf(sc.world)
	if sc.types == nil {
		return fmt.Errorf("%w: the component exports %s but does not import wasi:http/types", ErrUnsupportedImport, p.handlerExport)
	}
	if err := sc.linker.build(); err != nil {
		return fmt.Errorf("link: %w", oneLine(err))
	}
	if sc.handle, err = lookupExport(sc.comp, p.handlerExport, "handle"); err != nil {
		return err
	}
	return nil
}

// check makes an instance of sc and closes it.
func (p *httpProxy) check(sc *servedComponent) error {
	h, err := sc.linker.instantiate(sc.comp, &httpRequestState{p2ctx: p2Context{env: p.env, args: p.cfg.Args}, proxy: p, ctx: context.Background()}, sc.maxMem)
	if err != nil {
		return fmt.Errorf("%s: %w", p.cfg.ModulePath, err)
	}
	h.close()
	return nil
}

// pooledComponent loads the component into a pooling engine sized for
// maxInFlight instances, links it and checks that an instance can be
// made there.
func (p *httpProxy) pooledComponent(maxInFlight int) (*servedComponent, error) {
	cc, err := newPoolingCompiler(p.compiler.settings, defaultPoolLimits(maxInFlight, p.cfg.MaxMemoryBytes))
	if err != nil {
		return nil, err
	}
	sc := &servedComponent{compiler: cc, pooled: true}
	if sc.comp, err = p.comp.loadInto(cc); err != nil {
		sc.close()
		return nil, err
	}
	if err := p.link(sc); err != nil {
		sc.close()
		return nil, err
	}
	if err := p.check(sc); err != nil {
		sc.close()
		return nil, err
	}
	return sc, nil
}

// close frees what sc holds; no instance of it may be alive.
func (sc *servedComponent) close() {
	if sc.handle != nil {
		sc.handle.close()
	}
	if sc.linker != nil {
		sc.linker.close()
	}
	if sc.comp != nil {
		sc.comp.close()
	}
	if sc.compiler != nil {
		sc.compiler.close()
	}
}

// ErrUnsupportedImport means the component imports an interface that
// this host does not provide.
var ErrUnsupportedImport = errors.New("unsupported import")

func (p *httpProxy) Run(stderr io.Writer) int {
	defer p.Close()
	fmt.Fprintf(stderr, "%s exports %s: it is a server, serve it with Serve\n", p.cfg.ModulePath, incomingHandlerBase)
	return 1
}

// Close frees the component. While instances are still running (a
// request that outlived Serve's grace period) the C objects they use
// are left to the process's exit rather than freed under them.
func (p *httpProxy) Close() {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		if p.inFlight.Load() > 0 {
			return
		}
		p.poolMu.Lock()
		for _, sc := range p.pools {
			sc.close()
		}
		p.pools = nil
		p.poolMu.Unlock()
		p.servedComponent.close()
		if p.client != nil {
			p.client.CloseIdleConnections()
		}
	})
}

func (p *httpProxy) Stats() Stats { return p.stats }

// MemoryLimitReached is false: each request's instance has its own
// memory, and one that runs out fails that request alone.
func (p *httpProxy) MemoryLimitReached() bool { return false }

func (p *httpProxy) Serve(l net.Listener, opts ServeOptions) error {
	sv := p.newServer(opts)
	defer sv.stdout.close()
	defer sv.stderr.close()
	stderr := sv.stderr
	srv := &http.Server{
		Handler:           sv,
		ReadHeaderTimeout: time.Minute,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          log.New(stderr, "wasi:http server: ", 0),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve on %s: %w", l.Addr(), err)
	case <-opts.Stop:
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.Grace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
	}
	<-served
	return nil
}

// newServer is the handler of a Serve with opts: its writers, its
// slots, and the engine that makes its instances.
func (p *httpProxy) newServer(opts ServeOptions) *server {
	want := opts.MaxInFlight
	if want <= 0 {
		want = DefaultMaxInFlight
	}
	n := want
	sv := &server{proxy: p, sc: p.servedComponent, stdout: newSharedOutput(opts.Stdout), stderr: newSharedOutput(opts.Stderr)}
	// What the setup says goes out before any instance writes.
	setupLog := opts.Stderr
	if setupLog == nil {
		setupLog = io.Discard
	}
	// A pool of exactly as many instances as the slots admit: a request
	// that got a slot always finds a free instance in the pool. When the
	// bound is the default and the address space cannot hold its pool (a
	// small virtual address space, an RLIMIT_AS), a smaller bound with a
	// pool serves faster than the default without one.
	for {
		sc, err := p.pooledComponent(n)
		if err == nil {
			p.poolMu.Lock()
			p.pools = append(p.pools, sc)
			p.poolMu.Unlock()
			sv.sc = sc
			break
		}
		if opts.MaxInFlight <= 0 && errors.Is(err, errPoolAddressSpace) && n > minDefaultPool {
			n /= 2
			continue
		}
		fmt.Fprintf(setupLog, "wasi:http: serving without the pooling allocator (slower instantiation): %s\n", oneLine(err))
		n = want
		break
	}
	sv.slots = make(chan struct{}, n)
	running := opts.maxRunning
	if running <= 0 {
		running = runningBound()
	}
	sv.running = make(chan struct{}, running)
	sv.turnBudget = opts.turnBudget
	if sv.turnBudget <= 0 {
		sv.turnBudget = defaultTurnBudget
	}
	return sv
}

// minDefaultPool is the smallest pool that stands in for the default
// bound when the address space cannot hold DefaultMaxInFlight instances.
const minDefaultPool = 64

// server is the net/http handler of an HTTPProxy's Serve.
type server struct {
	proxy          *httpProxy
	sc             *servedComponent // the engine that makes its instances
	stdout, stderr *sharedOutput
	slots          chan struct{} // a token per instance alive
	running        chan struct{} // a token per instance running guest code
	turnBudget     time.Duration
}

// httpRequestState is the data of a request's instance: the WASI
// context, and the response being written.
type httpRequestState struct {
	p2ctx p2Context
	proxy *httpProxy
	ctx   context.Context // the request's: outbound requests end with it

	w    http.ResponseWriter
	resp *outgoingResponse // set by response-outparam.set
	// started: the head went out (set once, on response-outparam.set).
	started bool
	// failed is the error-code the guest set instead of a response.
	failed *httpErrorCode
	// returned: handle returned without a trap (the instance is being
	// closed).
	returned bool
}

func (st *httpRequestState) p2() *p2Context { return &st.p2ctx }

func (sv *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := sv.proxy
	// Counted before anything else, and the closed flag checked after:
	// either Close sees this request or this request sees Close.
	p.inFlight.Add(1)
	defer p.inFlight.Add(-1)
	if p.closed.Load() {
		http.Error(w, "the server is stopping", http.StatusServiceUnavailable)
		return
	}
	select {
	case sv.slots <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	defer func() { <-sv.slots }()

	// A guest streams its response while it reads the request (an
	// echo): without full duplex, net/http's HTTP/1 server stops the
	// request body once the response head is flushed.
	_ = http.NewResponseController(w).EnableFullDuplex()
	req, err := incomingRequestOf(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	stdout, stderr := &lineWriter{dst: sv.stdout}, &lineWriter{dst: sv.stderr}
	st := &httpRequestState{proxy: p, ctx: r.Context(), w: w,
		p2ctx: p2Context{stdout: stdout, stderr: stderr, env: p.env, args: p.cfg.Args}}
	// The instance runs while it holds a running token, from before it
	// is made to after it is closed, and gives the token up while its
	// guest waits or once it computed for the turn's budget.
	tr := &turn{gate: sv.running, budget: sv.turnBudget}
	if !tr.start(r.Context()) {
		return
	}
	st.p2ctx.beforeWait = func() {
		st.sendPending()
		tr.yield()
	}
	st.p2ctx.afterWait = tr.resume
	err = sv.handle(st, req)
	tr.yield()
	stdout.flush()
	stderr.flush()
	sv.finish(st, r, err)
}

// sink is where the response body goes once the response is set; nil
// before, or for a response without a body.
func (st *httpRequestState) sink() *responseSink {
	if st.resp == nil || st.resp.body == nil {
		return nil
	}
	return st.resp.body.sink
}

// sendPending sends the response bytes the guest flushed (its
// beforeWait).
func (st *httpRequestState) sendPending() {
	if s := st.sink(); s != nil {
		s.sendPending()
	}
}

// endResponse hands the response back to net/http as the handler
// returns. When the connection is to be cut, what the guest flushed
// reaches the client first.
func (st *httpRequestState) endResponse(cut bool) {
	s := st.sink()
	if s == nil {
		return
	}
	if cut {
		s.sendPending()
	}
	s.end()
}

// handle runs the guest's handle on a fresh instance.
func (sv *server) handle(st *httpRequestState, req *incomingRequest) error {
	sc := sv.sc
	h, err := sc.linker.instantiate(sc.comp, st, sc.maxMem)
	if err != nil {
		return err
	}
	// close runs the destructors of what the guest left: an outgoing
	// body it never finished is cut there.
	defer h.close()
	_, err = h.call(sc.handle, h.own(sc.types.incomingRequest, req), h.own(sc.types.responseOutparam, &responseOutparam{st: st}))
	st.returned = err == nil
	return err
}

// finish answers what the guest did not: a trap or a missing response
// before the head went out is a 500; after it, the connection is cut,
// as is a body that was not finished.
func (sv *server) finish(st *httpRequestState, r *http.Request, err error) {
	if err != nil {
		fmt.Fprintf(sv.stderr, "wasi:http: %s %s: %s", r.Method, r.URL.Path, describeFailure("wasm trap", err.Error()))
	}
	if !st.started {
		msg := "the handler did not set a response"
		switch {
		case err != nil:
			msg = "the handler failed"
		case st.failed != nil:
			msg = "the handler answered error-code " + st.failed.Error()
		}
		if err == nil {
			fmt.Fprintf(sv.stderr, "wasi:http: %s %s: %s\n", r.Method, r.URL.Path, msg)
		}
		http.Error(st.w, msg, http.StatusInternalServerError)
		return
	}
	cut := err != nil || st.resp.body != nil && !st.resp.body.finished
	st.endResponse(cut)
	if cut {
		panic(http.ErrAbortHandler)
	}
}

// incomingRequestOf is the guest's view of r. Whatever becomes a string
// for the guest must be UTF-8 (wasmtime aborts otherwise): a request
// whose target or header names are not is refused (400).
func incomingRequestOf(r *http.Request) (*incomingRequest, error) {
	target := r.RequestURI
	if r.URL.IsAbs() {
		target = r.URL.RequestURI()
	}
	if !utf8.ValidString(target) || !utf8.ValidString(r.Host) {
		return nil, errors.New("the request target or host is not UTF-8")
	}
	var extra []fieldEntry
	if r.Host != "" {
		extra = append(extra, fieldEntry{name: "host", value: []byte(r.Host)})
	}
	headers, err := fieldsFromHeader(r.Header, extra...)
	if err != nil {
		return nil, errors.New("a header name is not a token")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return &incomingRequest{method: r.Method, pathWithQuery: target, scheme: scheme, authority: r.Host,
		headers: headers, body: newBodySource(r.Body, nil, func() http.Header { return r.Trailer })}, nil
}

// setResponse is response-outparam.set with a response: the head goes
// out now (with what the body got before), the body streams after.
func (st *httpRequestState) setResponse(resp *outgoingResponse) error {
	if st.w == nil {
		return errors.New("response-outparam.set outside of a request")
	}
	st.resp = resp
	hdr := st.w.Header()
	for _, e := range resp.headers.list() {
		hdr.Add(e.name, string(e.value))
	}
	// No Content-Type sniffing: the guest's headers and nothing else.
	if _, ok := hdr["Content-Type"]; !ok {
		hdr["Content-Type"] = nil
	}
	b := resp.body
	if b != nil && b.finished && b.trailers == nil && len(b.sink.early) > 0 && hdr.Get("Content-Length") == "" &&
		resp.status != http.StatusNoContent && resp.status != http.StatusNotModified {
		// The whole body is known: send its length, not chunks.
		hdr.Set("Content-Length", fmt.Sprint(len(b.sink.early)))
	}
	st.w.WriteHeader(resp.status)
	st.started = true
	if b == nil {
		return nil
	}
	if err := b.sink.start(st.w); err != nil {
		return nil // the client went away: the body's writes report it
	}
	if b.finished {
		var tr http.Header
		if b.trailers != nil {
			tr = b.trailers.header()
		}
		_ = b.sink.finish(tr, b.written)
	}
	return nil
}

// setError is response-outparam.set with an error-code: a 500.
func (st *httpRequestState) setError(ec *httpErrorCode) error {
	st.failed = ec
	return nil
}

// sharedOutput is the task's stdout or stderr as all of a server's
// instances write to it, a whole line at a time (lineWriter). Lines
// gather for outputWindow and go out together from one goroutine: under
// load, the lines of many requests take one write (one syscall, one
// wakeup of the shim that copies them) instead of one each, which cost
// a third of a hello's throughput. A line waits at most outputWindow
// (and the write before it); close sends what is left.
type sharedOutput struct {
	mu     sync.Mutex
	room   *sync.Cond // the flusher took buf: writers waiting for room go on
	w      io.Writer
	buf    []byte        // what waits for the next write
	spare  []byte        // the buffer of the last write, reused
	kick   chan struct{} // cap 1: buf has bytes; closed by close
	done   chan struct{} // closed when the flusher has returned
	closed bool          // after close, writes go straight to w
	err    error         // w failed: every later write fails
}

// outputWindow is how long a line waits for others to go out with.
const outputWindow = 2 * time.Millisecond

// maxSharedOutput bounds what waits in a sharedOutput: past it, writers
// wait as they would on a full pipe.
const maxSharedOutput = 1 << 20

func newSharedOutput(w io.Writer) *sharedOutput {
	if w == nil {
		w = io.Discard
	}
	o := &sharedOutput{w: w, kick: make(chan struct{}, 1), done: make(chan struct{})}
	o.room = sync.NewCond(&o.mu)
	go o.flush()
	return o
}

func (o *sharedOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for len(o.buf) > 0 && len(o.buf)+len(p) > maxSharedOutput && o.err == nil && !o.closed {
		o.room.Wait()
	}
	switch {
	case o.err != nil:
		return 0, o.err
	case o.closed:
		n, err := o.w.Write(p)
		o.err = err
		return n, err
	}
	if len(o.buf) == 0 {
		select {
		case o.kick <- struct{}{}:
		default:
		}
	}
	o.buf = append(o.buf, p...)
	return len(p), nil
}

// flush is the goroutine that writes what gathered, outputWindow after
// the first byte of it, until close.
func (o *sharedOutput) flush() {
	defer close(o.done)
	for {
		_, open := <-o.kick
		if open {
			time.Sleep(outputWindow)
		}
		o.mu.Lock()
		out := o.buf
		o.buf = o.spare[:0]
		o.room.Broadcast()
		o.mu.Unlock()
		if len(out) > 0 {
			_, err := o.w.Write(out)
			o.mu.Lock()
			if err != nil && o.err == nil {
				o.err = err
			}
			o.spare = out[:0]
			o.room.Broadcast()
			o.mu.Unlock()
		}
		if !open {
			return
		}
	}
}

// close writes what waits and ends the flusher; later writes go straight
// to w (an instance that outlived the server's grace).
func (o *sharedOutput) close() {
	o.mu.Lock()
	if !o.closed {
		o.closed = true
		close(o.kick)
		o.room.Broadcast()
	}
	o.mu.Unlock()
	<-o.done
}

// maxLogLine bounds what a lineWriter holds waiting for a newline.
const maxLogLine = 64 << 10

// lineWriter is one instance's stdout or stderr: it passes whole lines
// to dst, so the lines of concurrent requests do not mix. It belongs to
// the instance's goroutine.
type lineWriter struct {
	dst *sharedOutput
	buf []byte
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.buf = append(lw.buf, p...)
	if i := bytes.LastIndexByte(lw.buf, '\n'); i >= 0 {
		if _, err := lw.dst.Write(lw.buf[:i+1]); err != nil {
			return 0, err
		}
		lw.buf = append(lw.buf[:0], lw.buf[i+1:]...)
	}
	if len(lw.buf) >= maxLogLine {
		lw.flush()
	}
	return len(p), nil
}

// flush passes on what is left (the last line had no newline).
func (lw *lineWriter) flush() {
	if len(lw.buf) > 0 {
		_, _ = lw.dst.Write(lw.buf)
		lw.buf = lw.buf[:0]
	}
}

// prepareComponent prepares a component as what its exports make it: a
// server (wasi:http/incoming-handler and no wasi:cli/run, an HTTPProxy)
// or a command (wasi:cli/run).
func prepareComponent(cfg Config, wasm []byte) (Program, error) {
	cp := &componentProgram{}
	if err := cp.compile(cfg, wasm); err != nil {
		cp.Close()
		return nil, err
	}
	if handler := httpHandlerExport(componentExports(cp.compiler, cp.comp)); handler != "" {
		p := &httpProxy{servedComponent: &servedComponent{compiler: cp.compiler, comp: cp.comp}, stats: cp.stats}
		if err := p.prepare(cfg, handler); err != nil {
			p.Close()
			return nil, err
		}
		return p, nil
	}
	if err := cp.link(cfg); err != nil {
		cp.Close()
		return nil, err
	}
	return cp, nil
}
