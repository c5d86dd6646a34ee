package wasmexec

import (
	"fmt"
	"io"
	"strings"
)

// The interface and function that a WASI 0.2 command exports as its main
// (wasi:cli/run). wasmtime finds a semver-compatible export under this
// name, so components built against any 0.2.x release match it.
const (
	cliRunInterface = "wasi:cli/run@0.2.0"
	cliRunFunction  = "run"
)

// componentProgram is a component prepared to run: compiled (or loaded),
// linked against WASI 0.2 and instantiated. It owns every C object it
// holds; Close frees them, once.
type componentProgram struct {
	compiler *componentCompiler
	comp     *componentArtifact
	inst     *componentInstance
	stats    Stats
}

func (cp *componentProgram) prepare(cfg Config, wasm []byte) error {
	if err := cp.compile(cfg, wasm); err != nil {
		return err
	}
	return cp.link(cfg)
}

// compile compiles (or loads) the component; link then instantiates it
// as a command. prepareComponent looks at the exports in between.
func (cp *componentProgram) compile(cfg Config, wasm []byte) error {
	if cfg.Entrypoint != "" && cfg.Entrypoint != DefaultEntrypoint {
		return fmt.Errorf("%s: %w: a component runs its wasi:cli/run export; #%s names a function of a core module",
			cfg.ModulePath, ErrNoEntrypoint, cfg.Entrypoint)
	}
	cp.compiler = newComponentCompiler(defaultSettings)
	a, stats, err := compile(cp.compiler, cfg, wasm)
	cp.stats = stats
	if err != nil {
		return fmt.Errorf("compile %s: %w", cfg.ModulePath, oneLine(err))
	}
	cp.comp = a.(*componentArtifact)
	return nil
}

func (cp *componentProgram) link(cfg Config) error {
	fn, err := cp.comp.runFunc(cliRunInterface, cliRunFunction)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.ModulePath, err)
	}
	defer deleteExportIndex(fn)
	cp.inst, err = instantiateComponent(cp.compiler, cp.comp, fn, cfg)
	return err
}

// Run calls wasi:cli/run and maps how it ended to an exit status, as
// wasmtime's own CLI does: run returning ok is 0 and err is 1; WASI's exit
// gives its status (exit(ok) 0, exit(err) 1, exit-with-code its code);
// a trap is TrapExitStatus with the cause on stderr.
func (cp *componentProgram) Run(stderr io.Writer) int {
	defer cp.Close()
	ok, err := cp.inst.call()
	if err == nil {
		if ok {
			return 0
		}
		return 1
	}
	if status, isExit := exitStatusOf(err); isExit {
		return int(uint8(status))
	}
	kind := "wasm error"
	if strings.Contains(err.Error(), "wasm trap:") {
		kind = "wasm trap"
	}
	fmt.Fprint(stderr, describeFailure(kind, err.Error()))
	return TrapExitStatus
}

// Close frees the instance (store, linker), the component and the engine,
// in that order: each depends on the next.
func (cp *componentProgram) Close() {
	if cp.inst != nil {
		cp.inst.close()
		cp.inst = nil
	}
	if cp.comp != nil {
		cp.comp.close()
		cp.comp = nil
	}
	if cp.compiler != nil {
		cp.compiler.close()
		cp.compiler = nil
	}
}

func (cp *componentProgram) Stats() Stats { return cp.stats }

// MemoryLimitReached is false: a component exports no linear memory to
// look at after its run, so a component that ran out of memory is told
// only by its own failure.
func (cp *componentProgram) MemoryLimitReached() bool { return false }
