package wasmexec

import (
	"errors"
	"fmt"
	"io"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// moduleProgram is a core module prepared to run. It owns every engine
// object it holds; Close frees them, once.
type moduleProgram struct {
	wasi wasiHost

	compiler *compiler
	module   *wasmtime.Module
	store    *wasmtime.Store
	inst     *wasmtime.Instance
	entry    *wasmtime.Func
	stats    Stats
	// maxMemory is Config.MaxMemoryBytes; memoryLimitHit says Run ended
	// with the linear memory at it.
	maxMemory      int64
	memoryLimitHit bool
	// exitCode is what the module passed to proc_exit, if it called it.
	exitCode *int32
}

func newModuleProgram(wasi wasiHost) *moduleProgram {
	return &moduleProgram{wasi: wasi}
}

func (m *moduleProgram) prepare(cfg Config, wasm []byte) error {
	m.compiler = newCompiler(defaultSettings)
	a, stats, err := compile(m.compiler, cfg, wasm)
	m.stats = stats
	if err != nil {
		return fmt.Errorf("compile %s: %w", cfg.ModulePath, oneLine(err))
	}
	m.module = a.(moduleArtifact).Module
	if err := checkEntrypoint(m.module, cfg.entrypoint()); err != nil {
		return fmt.Errorf("%s: %w", cfg.ModulePath, err)
	}
	return m.instantiate(cfg)
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

func (m *moduleProgram) instantiate(cfg Config) error {
	m.store = wasmtime.NewStore(m.compiler.engine)
	if cfg.MaxMemoryBytes > 0 {
		m.store.Limiter(cfg.MaxMemoryBytes, -1, -1, -1, -1)
	}
	m.maxMemory = cfg.MaxMemoryBytes
	// The instance keeps what it needs of the linker's definitions.
	linker := wasmtime.NewLinker(m.compiler.engine)
	defer linker.Close()
	if err := m.wasi.link(linker, m.store, m.module, cfg); err != nil {
		return err
	}
	if err := m.defineProcExit(linker); err != nil {
		return err
	}
	inst, err := linker.Instantiate(m.store, m.module)
	if err != nil {
		return fmt.Errorf("instantiate %s: %w", cfg.ModulePath, oneLine(err))
	}
	m.inst, m.entry = inst, inst.GetFunc(m.store, cfg.entrypoint())
	return m.wasi.bind(inst)
}

// defineProcExit replaces WASI's proc_exit, which in wasmtime refuses any
// status from 126 up: a native program may exit with any status, and so
// may a module. The call unwinds the module with a trap that Run
// recognises by the recorded code. It shadows whatever WASI host was
// linked, so that every host ends a module the same way.
func (m *moduleProgram) defineProcExit(linker *wasmtime.Linker) error {
	linker.AllowShadowing(true)
	err := linker.FuncWrap("wasi_snapshot_preview1", "proc_exit", func(code int32) *wasmtime.Trap {
		m.exitCode = &code
		return wasmtime.NewTrap("proc_exit")
	})
	if err != nil {
		return fmt.Errorf("define proc_exit: %w", err)
	}
	return nil
}

func (m *moduleProgram) Run(stderr io.Writer) int {
	defer m.Close()
	_, err := m.entry.Call(m.store)
	var status int
	if m.exitCode != nil {
		// Like a native exit(2), only the low byte reaches the parent.
		status = int(uint8(*m.exitCode))
	} else {
		status = exitStatus(err, stderr)
	}
	if status != 0 && m.atMemoryLimit() {
		m.memoryLimitHit = true
		fmt.Fprintf(stderr, "wasm: linear memory reached its limit of %d MiB (the container's memory limit): memory.grow failed\n", m.maxMemory>>20)
	}
	return status
}

// Close frees the store (and with it the instance), the compiled module
// and the engine, in that order: each depends on the next.
func (m *moduleProgram) Close() {
	if m.wasi != nil {
		m.wasi.close()
	}
	if m.store != nil {
		m.store.Close()
		m.store = nil
	}
	if m.module != nil {
		m.module.Close()
		m.module = nil
	}
	if m.compiler != nil {
		m.compiler.close()
		m.compiler = nil
	}
}

func (m *moduleProgram) Stats() Stats             { return m.stats }
func (m *moduleProgram) MemoryLimitReached() bool { return m.memoryLimitHit }

// atMemoryLimit says whether the linear memory ended within an eighth of
// its limit. The engine does not tell which memory.grow it refused, and
// runtimes grow in large steps (Go's heap by several MiB), so a failing
// module that close to its limit is taken to have run out of memory.
func (m *moduleProgram) atMemoryLimit() bool {
	if m.maxMemory <= 0 {
		return false
	}
	ext := m.inst.GetExport(m.store, "memory")
	if ext == nil || ext.Memory() == nil {
		return false
	}
	return int64(ext.Memory().DataSize(m.store)) > m.maxMemory-m.maxMemory/8
}

// exitStatus maps how a module's entrypoint returned to an exit status:
// WASI's exit gives its status, a trap or engine error TrapExitStatus with
// the cause on stderr.
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
