package wasmexec

// WASI 0.2 on the Go component host (component_host.go): interfaces are
// registered by name without a version, and a p2World defines, on one
// hostLinker, every interface a component imports, under the very name it
// imports (any 0.2.x up to p2MaxPatch). See docs/wasip2-host.md.

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// p2MaxPatch is the newest WASI 0.2 patch release this host knows the
// WIT of (jco's builtin 0.2.12). Interfaces only gained functions
// between patch releases, and an instance may define more than an
// import's type lists, so each interface is defined with every function
// up to this release whatever 0.2.x the component imports.
const p2MaxPatch = 12

// p2Registry maps an interface's name without version (e.g.
// "wasi:io/streams") to the function that defines it. It is filled by
// init functions and read-only afterwards.
var p2Registry = map[string]func(w *p2World, name string){}

// registerP2Interface makes define the definition of the interface base;
// define gets the world and the full imported name (e.g.
// "wasi:io/streams@0.2.12") under which it defines every resource and
// function of the interface. Call it from an init function.
func registerP2Interface(base string, define func(w *p2World, name string)) {
	if _, dup := p2Registry[base]; dup {
		panic("wasip2: interface " + base + " registered twice")
	}
	p2Registry[base] = define
}

// p2World defines the WASI 0.2 interfaces a component imports on a
// hostLinker. It is used on one goroutine while the linker is built;
// afterwards only resource is called, read-only, from host functions.
type p2World struct {
	l *hostLinker
	// names maps an imported base to the full name it is defined under.
	names map[string]string
	// state is p2Defining while an interface's define runs, p2Defined
	// after; resource defines an interface on demand, so definitions
	// happen in dependency order whatever order the imports come in.
	state map[string]int
}

const (
	p2Defining = iota + 1
	p2Defined
)

func newP2World(l *hostLinker) *p2World {
	return &p2World{l: l, names: map[string]string{}, state: map[string]int{}}
}

// splitP2Name splits "wasi:io/streams@0.2.12" into the base and the
// patch number, or says why the name is not a WASI 0.2 interface this
// host can serve.
func splitP2Name(name string) (base string, patch int, err error) {
	base, ver, ok := strings.Cut(name, "@")
	if !ok {
		return base, 0, errors.New("it has no version")
	}
	rest, ok := strings.CutPrefix(ver, "0.2.")
	if !ok {
		return base, 0, fmt.Errorf("version %s is not 0.2.x", ver)
	}
	patch, perr := strconv.Atoi(rest)
	// Atoi accepts a sign; a prerelease or build suffix fails to parse.
	if perr != nil || rest[0] == '+' || rest[0] == '-' || strconv.Itoa(patch) != rest {
		return base, 0, fmt.Errorf("version %s is not a 0.2.x release", ver)
	}
	if patch > p2MaxPatch {
		return base, 0, fmt.Errorf("version %s is newer than 0.2.%d", ver, p2MaxPatch)
	}
	return base, patch, nil
}

// defineImports defines every interface of imports (the names of a
// component's imports, see componentImports) under its imported name.
// An import this host cannot provide is an error naming it (all of them,
// when there are several). When a component imports one interface at
// two 0.2.x versions it is defined once, at the newest: wasmtime's
// linker resolves every 0.2.x import name to a 0.2.x definition.
func (w *p2World) defineImports(imports []string) error {
	var missing []string
	patches := map[string]int{}
	for _, name := range imports {
		base, patch, err := splitP2Name(name)
		if _, known := p2Registry[base]; !known || err != nil {
			why := "which this host does not provide"
			if known {
				why = "which this host does not provide: " + err.Error()
			}
			missing = append(missing, fmt.Sprintf("the component imports %s, %s", name, why))
			continue
		}
		if _, seen := w.names[base]; !seen || patch > patches[base] {
			w.names[base], patches[base] = name, patch
		}
	}
	if len(missing) > 0 {
		return errors.New(strings.Join(missing, "; "))
	}
	bases := make([]string, 0, len(w.names))
	for base := range w.names {
		bases = append(bases, base)
	}
	sort.Strings(bases)
	for _, base := range bases {
		w.define(base)
	}
	return nil
}

// define runs the definition of base once, if the component imports it.
func (w *p2World) define(base string) {
	name, imported := w.names[base]
	if !imported || w.state[base] != 0 {
		return
	}
	w.state[base] = p2Defining
	p2Registry[base](w, name)
	w.state[base] = p2Defined
}

// resource returns the resource type name (e.g. "output-stream") of the
// interface base (e.g. "wasi:io/streams"), defining that interface first
// if the component imports it and it is not defined yet; nil if the
// component does not import the interface or the interface has no such
// resource.
func (w *p2World) resource(base, name string) *resourceType {
	w.define(base)
	full, ok := w.names[base]
	if !ok {
		return nil
	}
	defs := w.l.instances[full]
	if defs == nil {
		return nil
	}
	for _, rt := range defs.resources {
		if rt.name == name {
			return rt
		}
	}
	return nil
}

// mustResource is resource for a type the interface being defined uses:
// its defining interface is imported whenever the using one is (a
// component imports a resource type from the interface that defines it),
// so nil means a component this host cannot type; the host functions
// that hand one out then trap with the name.
func (w *p2World) mustResource(base, name string) *resourceType {
	if rt := w.resource(base, name); rt != nil {
		return rt
	}
	return &resourceType{instance: base, name: name + " (not imported)"}
}

// p2Context is the state of one instance that the WASI 0.2 interfaces
// read. The data of every hostInstance made with a p2World's linker
// implements p2Data; a *p2Context does, and so does any struct that
// embeds one.
type p2Context struct {
	stdin io.Reader // nil: an empty stdin
	// stdout and stderr (nil: discarded) get the guest's writes as they
	// come; instances on other goroutines may share them, so they must
	// take concurrent writes (an *os.File does).
	stdout, stderr io.Writer
	env            [][2]string
	args           []string

	// exitStatus is set by wasi:cli/exit before it traps the guest.
	exitStatus *int
	// stdinStream is the one stream every get-stdin reads, made on the
	// first call.
	stdinStream inputStream
	// beforeWait and afterWait (nil: nothing) run around every wait of
	// the guest on something that is not ready (a poll, a blocking read
	// or write). A server sends the response bytes the guest flushed
	// before it, so a guest never waits while they sit in a buffer, and
	// lets another request run meanwhile.
	beforeWait, afterWait func()
}

// p2Data is what a hostInstance's data must implement for the WASI 0.2
// host functions.
type p2Data interface{ p2() *p2Context }

func (c *p2Context) p2() *p2Context { return c }

// exited reports the status the guest passed to wasi:cli/exit, if it
// called it (the call returned an error: the trap that ended it).
func (c *p2Context) exited() (status int, ok bool) {
	if c.exitStatus == nil {
		return 0, false
	}
	return *c.exitStatus, true
}

// waitFor runs block, a wait of h's guest, between h's beforeWait and
// afterWait.
func waitFor(h *hostInstance, block func()) {
	if h != nil {
		if d, ok := h.data.(p2Data); ok {
			c := d.p2()
			if c.beforeWait != nil {
				c.beforeWait()
			}
			if c.afterWait != nil {
				defer c.afterWait()
			}
		}
	}
	block()
}

// p2ctx is the p2Context of h; an instance made without one traps.
func p2ctx(h *hostInstance) (*p2Context, error) {
	d, ok := h.data.(p2Data)
	if !ok {
		return nil, fmt.Errorf("wasip2: instance data %T carries no p2Context", h.data)
	}
	return d.p2(), nil
}
