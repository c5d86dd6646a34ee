package wasmexec

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec/wasmbin"
)

// Program is a core module or a component, compiled (or loaded from the
// cache), linked against WASI and instantiated: ready to run once.
type Program interface {
	// Run calls the entrypoint (a module's _start or the function that
	// Config.Entrypoint names, a component's wasi:cli/run) and returns the
	// exit status that a native process would have had. A trap or engine
	// error is reported on stderr. Run releases what Prepare allocated.
	Run(stderr io.Writer) int
	// Close frees what the engine holds for the program without running
	// it. Run calls it; a second call does nothing.
	Close()
	// Stats say how Prepare got the code: cache hit or miss, and the time
	// it took.
	Stats() Stats
	// MemoryLimitReached says whether Run failed with the linear memory
	// at Config.MaxMemoryBytes, which is how a module runs out of memory:
	// the engine refuses memory.grow and the module gives up (Go and Rust
	// abort, C's malloc returns NULL).
	MemoryLimitReached() bool
}

// program is what Prepare fills in: prepare leaves whatever it allocated
// in the program, for Close to free, whether it succeeded or not.
type program interface {
	Program
	prepare(cfg Config, wasm []byte) error
}

// Prepare does everything that can fail because of the module itself, so
// that the caller can report a bad module before it reports the task as
// started: it reads, compiles (or loads from the cache), links and
// instantiates. The binary's header says whether it is a core module or a
// component.
func Prepare(cfg Config) (Program, error) {
	wasm, kind, err := readModule(cfg.ModulePath)
	if err != nil {
		return nil, err
	}
	if kind == wasmbin.Component {
		return prepareComponent(cfg, wasm)
	}
	wasi, err := newWASIHost(cfg)
	if err != nil {
		return nil, err
	}
	p := newModuleProgram(wasi)
	if err := p.prepare(cfg, wasm); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func readModule(path string) ([]byte, wasmbin.Kind, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("read module: %w", err)
	}
	// A .wat file is the text format, which users write by hand and expect
	// to run as runwasi runs it. It is translated here rather than by the
	// engine so that the cache keys and the header check see the binary.
	if strings.HasSuffix(path, ".wat") && !wasmbin.HasMagic(wasm) {
		if wasm, err = wasmtime.Wat2Wasm(string(wasm)); err != nil {
			return nil, 0, fmt.Errorf("%s: WebAssembly text format: %w", path, err)
		}
	}
	kind, err := wasmbin.KindOf(wasm)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return wasm, kind, nil
}

// compile goes through the cache when one is configured. A cache that
// cannot be opened (not ours, not writable, a task running as another
// user) costs a compile, never the task.
func compile(cd codec, cfg Config, wasm []byte) (artifact, Stats, error) {
	if cfg.CacheDir == "" {
		return compileOnly(cd, wasm, Stats{Cache: CacheOff})
	}
	cache, err := OpenCache(cfg.CacheDir, cfg.CacheMaxBytes)
	if err != nil {
		return compileOnly(cd, wasm, Stats{Cache: CacheFailed, CacheErr: err})
	}
	return cache.artifact(cd, wasm)
}

// maxTraceFrames bounds the backtrace printed for a trap: a stack overflow
// has tens of thousands of frames and the cause comes last.
const maxTraceFrames = 10

// describeFailure puts the cause of a trap or engine error first and keeps
// the top of its wasm backtrace; the engine's own (Rust) backtrace says
// nothing to the module's author and is dropped.
func describeFailure(kind, msg string) string {
	msg, _, _ = strings.Cut(msg, "\nStack backtrace:")
	trace, cause, found := strings.Cut(msg, "Caused by:")
	if !found {
		return kind + ": " + strings.TrimSpace(msg) + "\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", kind, strings.TrimPrefix(strings.TrimSpace(cause), kind+": "))
	lines := strings.Split(strings.TrimSpace(trace), "\n")
	for i, line := range lines {
		if i > maxTraceFrames {
			fmt.Fprintf(&b, "    ... %d more frames\n", len(lines)-i)
			break
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// causeNumber numbers the causes when anyhow lists several.
var causeNumber = regexp.MustCompile(`^\d+: `)

// lineError is an engine error told in one line.
type lineError struct {
	msg string
	err error
}

func (e *lineError) Error() string { return e.msg }
func (e *lineError) Unwrap() error { return e.err }

// oneLine folds wasmtime's "what\n\nCaused by:\n    why\n\nStack
// backtrace: ..." into "what: why": the cause is what the user needs, it
// must survive the trip to ctr's one-line error, and the engine's own
// backtrace means nothing to them.
func oneLine(err error) error {
	msg, _, _ := strings.Cut(err.Error(), "\nStack backtrace:")
	head, causes, found := strings.Cut(msg, "Caused by:")
	if !found {
		return &lineError{msg: strings.Join(strings.Fields(msg), " "), err: err}
	}
	parts := []string{strings.TrimSpace(head)}
	for _, c := range strings.Split(causes, "\n") {
		c = strings.TrimSpace(c)
		c = causeNumber.ReplaceAllString(c, "")
		if c != "" {
			parts = append(parts, c)
		}
	}
	return &lineError{msg: strings.Join(parts, ": "), err: err}
}
