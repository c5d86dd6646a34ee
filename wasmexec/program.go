package wasmexec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

var (
	wasmMagic         = []byte("\x00asm")
	coreModuleVersion = []byte{0x01, 0x00, 0x00, 0x00}
	// A component's header has a 16-bit version (0x0d while the
	// component model is a draft) and the layer 1 after the magic, where
	// a core module has its 32-bit version 1.
	componentLayer = []byte{0x01, 0x00}
)

// binaryKind tells a core module from a component by its header.
type binaryKind int

const (
	coreModule binaryKind = iota
	component
)

// Program is a module compiled, linked against WASI and instantiated, ready
// to have its entrypoint called once; or a component compiled, linked
// against WASI 0.2 and instantiated, ready to have wasi:cli/run called
// once.
type Program struct {
	// component is set for a component; the fields below it then mean
	// nothing but stats and maxMemory.
	component *componentProgram

	// engine and module are kept to be freed with the store in Close.
	engine *wasmtime.Engine
	module *wasmtime.Module
	store  *wasmtime.Store
	inst   *wasmtime.Instance
	// maxMemory is Config.MaxMemoryBytes; memoryLimitHit says Run ended
	// with the linear memory at it.
	maxMemory      int64
	memoryLimitHit bool
	// exitCode is what the module passed to proc_exit, if it called it.
	exitCode *int32
	entry    *wasmtime.Func
	name     string
	stats    Stats
}

// Prepare does everything that can fail because of the module itself, so
// that the caller can report a bad module before it reports the task as
// started: it reads, compiles (or loads from the cache), links and
// instantiates.
func Prepare(cfg Config) (*Program, error) {
	wasm, kind, err := readModule(cfg.ModulePath)
	if err != nil {
		return nil, err
	}
	if kind == component {
		return prepareComponent(cfg, wasm)
	}
	comp := newCompiler(defaultSettings)
	a, stats, err := compile(comp, cfg, wasm)
	if err != nil {
		comp.engine.Close()
		return nil, fmt.Errorf("compile %s: %w", cfg.ModulePath, oneLine(err))
	}
	module := a.(moduleArtifact).Module
	if err := checkEntrypoint(module, cfg.entrypoint()); err != nil {
		module.Close()
		comp.engine.Close()
		return nil, fmt.Errorf("%s: %w", cfg.ModulePath, err)
	}
	prog, err := instantiate(comp.engine, module, cfg)
	if err != nil {
		module.Close()
		comp.engine.Close()
		return nil, err
	}
	prog.module, prog.engine, prog.stats = module, comp.engine, stats
	return prog, nil
}

// Stats say how Prepare got the module's code: cache hit or miss, and the
// time it took.
func (p *Program) Stats() Stats { return p.stats }

func readModule(path string) ([]byte, binaryKind, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("read module: %w", err)
	}
	// A .wat file is the text format, which users write by hand and expect
	// to run as runwasi runs it. It is translated here rather than by the
	// engine so that the cache keys and the header check see the binary.
	if strings.HasSuffix(path, ".wat") && !bytes.HasPrefix(wasm, wasmMagic) {
		if wasm, err = wasmtime.Wat2Wasm(string(wasm)); err != nil {
			return nil, 0, fmt.Errorf("%s: WebAssembly text format: %w", path, err)
		}
	}
	kind, err := checkHeader(wasm)
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

func checkHeader(wasm []byte) (binaryKind, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], wasmMagic) {
		return 0, ErrNotWasm
	}
	switch {
	case bytes.Equal(wasm[4:8], coreModuleVersion):
		return coreModule, nil
	case bytes.Equal(wasm[6:8], componentLayer):
		return component, nil
	}
	return 0, fmt.Errorf("unknown WebAssembly binary version or layer %x: neither a core module nor a component", wasm[4:8])
}

func checkEntrypoint(module *wasmtime.Module, name string) error {
	for _, exp := range module.Exports() {
		if exp.Name() != name {
			continue
		}
		if exp.Type().FuncType() == nil {
			return fmt.Errorf("%w: %q is not a function", ErrNoEntrypoint, name)
		}
		return nil
	}
	return fmt.Errorf("%w: the module exports no function %q (is it a WASI command?)", ErrNoEntrypoint, name)
}

func instantiate(engine *wasmtime.Engine, module *wasmtime.Module, cfg Config) (*Program, error) {
	wasi, err := wasiConfig(cfg)
	if err != nil {
		return nil, err
	}
	store := wasmtime.NewStore(engine)
	store.SetWasi(wasi)
	if cfg.MaxMemoryBytes > 0 {
		store.Limiter(cfg.MaxMemoryBytes, -1, -1, -1, -1)
	}
	prog := &Program{store: store, name: cfg.entrypoint(), maxMemory: cfg.MaxMemoryBytes}
	// The instance keeps what it needs of the linker's definitions.
	linker := wasmtime.NewLinker(engine)
	defer linker.Close()
	if err := linker.DefineWasi(); err != nil {
		store.Close()
		return nil, fmt.Errorf("define WASI: %w", err)
	}
	if err := prog.defineProcExit(linker); err != nil {
		store.Close()
		return nil, err
	}
	inst, err := linker.Instantiate(store, module)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("instantiate %s: %w", cfg.ModulePath, oneLine(err))
	}
	prog.inst, prog.entry = inst, inst.GetFunc(store, cfg.entrypoint())
	return prog, nil
}

// defineProcExit replaces WASI's proc_exit, which in wasmtime refuses any
// status from 126 up: a native program may exit with any status, and so
// may a module. The call unwinds the module with a trap that Run
// recognises by the recorded code.
func (p *Program) defineProcExit(linker *wasmtime.Linker) error {
	linker.AllowShadowing(true)
	err := linker.FuncWrap("wasi_snapshot_preview1", "proc_exit", func(code int32) *wasmtime.Trap {
		p.exitCode = &code
		return wasmtime.NewTrap("proc_exit")
	})
	if err != nil {
		return fmt.Errorf("define proc_exit: %w", err)
	}
	return nil
}

func wasiConfig(cfg Config) (*wasmtime.WasiConfig, error) {
	w := wasmtime.NewWasiConfig()
	w.SetArgv(cfg.Args)
	keys, values := splitEnv(cfg.Env)
	w.SetEnv(keys, values)
	w.InheritStdin()
	w.InheritStdout()
	w.InheritStderr()
	for _, p := range cfg.Preopens {
		dirPerms, filePerms := wasmtime.DIR_READ|wasmtime.DIR_WRITE, wasmtime.FILE_READ|wasmtime.FILE_WRITE
		if p.ReadOnly {
			dirPerms, filePerms = wasmtime.DIR_READ, wasmtime.FILE_READ
		}
		if err := w.PreopenDir(p.HostPath, p.GuestPath, dirPerms, filePerms); err != nil {
			return nil, fmt.Errorf("preopen %s at %s: %w", p.HostPath, p.GuestPath, err)
		}
	}
	return w, nil
}

func splitEnv(env []string) (keys, values []string) {
	for _, kv := range env {
		k, v, _ := bytes.Cut([]byte(kv), []byte("="))
		keys = append(keys, string(k))
		values = append(values, string(v))
	}
	return keys, values
}

// Run calls the entrypoint and returns the exit status a native process
// would have had. A trap or engine error is reported on stderr.
//
// Run releases what Prepare allocated in the engine: a Program runs once.
func (p *Program) Run(stderr io.Writer) int {
	defer p.Close()
	if p.component != nil {
		return p.component.run(stderr)
	}
	_, err := p.entry.Call(p.store)
	var status int
	if p.exitCode != nil {
		// Like a native exit(2), only the low byte reaches the parent.
		status = int(uint8(*p.exitCode))
	} else {
		status = exitStatus(err, stderr)
	}
	if status != 0 && p.atMemoryLimit() {
		p.memoryLimitHit = true
		fmt.Fprintf(stderr, "wasm: linear memory reached its limit of %d MiB (the container's memory limit): memory.grow failed\n", p.maxMemory>>20)
	}
	return status
}

// Close frees what the engine holds for the program (instance, store,
// compiled code, engine) without running it. Run calls it; a second call
// does nothing.
func (p *Program) Close() {
	if p.component != nil {
		p.component.close()
		return
	}
	if p.store != nil {
		p.store.Close()
		p.store = nil
	}
	if p.module != nil {
		p.module.Close()
		p.module = nil
	}
	if p.engine != nil {
		p.engine.Close()
		p.engine = nil
	}
}

// MemoryLimitReached says whether the last Run failed with the module's
// linear memory at its limit, which is how a module runs out of memory:
// the engine refuses memory.grow and the module gives up (Go and Rust
// abort, C's malloc returns NULL).
func (p *Program) MemoryLimitReached() bool { return p.memoryLimitHit }

// atMemoryLimit says whether the linear memory ended within an eighth of
// its limit. The engine does not tell which memory.grow it refused, and
// runtimes grow in large steps (Go's heap by several MiB), so a failing
// module that close to its limit is taken to have run out of memory.
func (p *Program) atMemoryLimit() bool {
	if p.maxMemory <= 0 {
		return false
	}
	ext := p.inst.GetExport(p.store, "memory")
	if ext == nil || ext.Memory() == nil {
		return false
	}
	return int64(ext.Memory().DataSize(p.store)) > p.maxMemory-p.maxMemory/8
}

func exitStatus(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var werr *wasmtime.Error
	if errors.As(err, &werr) {
		if status, ok := werr.ExitStatus(); ok {
			return int(uint8(status))
		}
	}
	var trap *wasmtime.Trap
	if errors.As(err, &trap) {
		fmt.Fprint(stderr, describeFailure("wasm trap", trap.Message()))
		return TrapExitStatus
	}
	fmt.Fprint(stderr, describeFailure("wasm error", err.Error()))
	return TrapExitStatus
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
