package wasmexec

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec/wasmbin"
)

// settings are the engine options this package sets. They are one struct
// so that the same value both configures wasmtime (config) and names the
// compiled code in the cache (fingerprint): a field added here is part of
// the cache key without anyone having to remember it. Every field is in the
// key, even those that do not change generated code today, because wasmtime
// refuses artifacts built under some runtime settings too (memory guards,
// for instance) and a spurious miss is cheaper than a wrong guess.
type settings struct {
	Strategy            wasmtime.Strategy
	OptLevel            wasmtime.OptLevel
	ParallelCompilation bool
	MemoryInitCOW       bool
}

// defaultSettings are wasmtime's own defaults, written out so that they are
// in the cache key, and kept because a task's start time is what they
// decide (BenchmarkCompile and BenchmarkCacheHit compare the choices):
//   - parallel compilation: a cold start is a compile, and the functions
//     of a module compile independently, on every core there is;
//   - opt level speed: no optimisation shortens a compile only a little
//     and leaves the module slower for all of its run;
//   - copy-on-write memory init: a module's data segments are mapped from
//     the cache entry instead of copied into each instance, so a warm
//     start does not pay for them and tasks share the pages.
//
// The pooling allocator is not among them: a command holds exactly one
// instance, and a served component, which makes one per request, gets a
// pooling engine of its own in Serve (wasihttp_pool.go). That engine loads
// the code compiled under these settings and compiles nothing, so it needs
// no cache key of its own; wasmtime refuses, on load, code compiled for
// tunables other than its engine's.
var defaultSettings = settings{
	Strategy:            wasmtime.StrategyCranelift,
	OptLevel:            wasmtime.OptLevelSpeed,
	ParallelCompilation: true,
	MemoryInitCOW:       true,
}

func (s settings) config() *wasmtime.Config {
	c := wasmtime.NewConfig()
	c.SetStrategy(s.Strategy)
	c.SetCraneliftOptLevel(s.OptLevel)
	c.SetParallelCompilation(s.ParallelCompilation)
	c.SetMemoryInitCOWSet(s.MemoryInitCOW)
	return c
}

// fingerprint names everything besides the module's bytes that the
// compiled code depends on: the cache format, the wasmtime release, the
// architecture and every setting.
func (s settings) fingerprint() string {
	return fmt.Sprintf("%s %s %s %#v", cacheFormat, wasmtimeVersion(), runtime.GOARCH, s)
}

// codec compiles one kind of artifact (core module or component) with one
// engine, and loads it back from a cache entry. The cache keys entries by
// kind and fingerprint, so it can never hand an artifact to an engine or a
// loader it was not built for.
type codec interface {
	kind() string
	fingerprint() string
	compile(wasm []byte) (artifact, error)
	loadFile(path string) (artifact, error)
	// close frees the engine; every artifact made with it must be gone
	// first.
	close()
}

// newCodec is the codec of a kind of binary, with the settings tasks use.
func newCodec(kind wasmbin.Kind) codec {
	if kind == wasmbin.Component {
		return newComponentCompiler(defaultSettings)
	}
	return newCompiler(defaultSettings)
}

// artifact is compiled code that the cache can store.
type artifact interface {
	serialize() ([]byte, error)
	close()
}

// compiler is an engine together with the settings it was built from, so
// that the cache can never key code by settings other than its engine's.
// It compiles core modules.
type compiler struct {
	settings settings
	engine   *wasmtime.Engine
}

func newCompiler(s settings) *compiler {
	return &compiler{settings: s, engine: wasmtime.NewEngineWithConfig(s.config())}
}

func (c *compiler) kind() string        { return "module" }
func (c *compiler) fingerprint() string { return c.settings.fingerprint() }
func (c *compiler) close()              { c.engine.Close() }

func (c *compiler) compile(wasm []byte) (artifact, error) {
	m, err := wasmtime.NewModule(c.engine, wasm)
	if err != nil {
		return nil, err
	}
	return moduleArtifact{m}, nil
}

func (c *compiler) loadFile(path string) (artifact, error) {
	m, err := wasmtime.NewModuleDeserializeFile(c.engine, path)
	if err != nil {
		return nil, err
	}
	return moduleArtifact{m}, nil
}

// moduleArtifact is a compiled core module.
type moduleArtifact struct{ *wasmtime.Module }

func (m moduleArtifact) serialize() ([]byte, error) { return m.Serialize() }
func (m moduleArtifact) close()                     { m.Close() }

const wasmtimeModule = "github.com/bytecodealliance/wasmtime-go/v39"

// wasmtimeVersion is the wasmtime-go release linked into this binary, with
// its go.sum hash so that a replaced or patched copy keys differently.
// wasmtime also refuses artifacts of another release on its own; this only
// spares the failed load.
var wasmtimeVersion = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return wasmtimeModule + "@unknown"
	}
	for _, dep := range bi.Deps {
		if dep.Path != wasmtimeModule {
			continue
		}
		if dep.Replace != nil {
			dep = dep.Replace
		}
		return dep.Path + "@" + dep.Version + " " + dep.Sum
	}
	return wasmtimeModule + "@unknown"
})
