package wasmexec

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// demoModule is a 2.5 MB Go-built module: hack/build-examples.sh makes it.
const demoModule = "../bin/examples/wasi-demo.wasm"

func demoWasm(b *testing.B) []byte {
	wasm, _, err := readModule(demoModule)
	if err != nil {
		b.Skipf("%v (run hack/build-examples.sh bin/examples)", err)
	}
	return wasm
}

// BenchmarkCompile compares the settings that trade compile time for
// code quality. go test -bench Compile -benchtime 3x ./wasmexec/
func BenchmarkCompile(b *testing.B) {
	wasm := demoWasm(b)
	variants := map[string]func(*settings){
		"default":          func(*settings) {},
		"serial":           func(s *settings) { s.ParallelCompilation = false },
		"opt=none":         func(s *settings) { s.OptLevel = wasmtime.OptLevelNone },
		"opt=speedAndSize": func(s *settings) { s.OptLevel = wasmtime.OptLevelSpeedAndSize },
	}
	for name, change := range variants {
		b.Run(name, func(b *testing.B) {
			s := defaultSettings
			change(&s)
			comp := newCompiler(s)
			for b.Loop() {
				m, _, err := compileOnly(comp, wasm, Stats{})
				if err != nil {
					b.Fatal(err)
				}
				m.close()
			}
		})
	}
}

// BenchmarkCacheHit splits a hit: the key (sha256 of the module), the
// entry's checksum, wasmtime's deserialization, and all of Prepare.
func BenchmarkCacheHit(b *testing.B) {
	wasm := demoWasm(b)
	dir := filepath.Join(b.TempDir(), "cache")
	c, err := OpenCache(dir, 0)
	if err != nil {
		b.Fatal(err)
	}
	comp := newCompiler(defaultSettings)
	a, st, err := c.artifact(comp, wasm)
	if err != nil {
		b.Fatal(err)
	}
	a.close()
	entry := c.path(st.Key, entrySuffix)
	b.Run("key", func(b *testing.B) {
		b.SetBytes(int64(len(wasm)))
		for b.Loop() {
			key(comp, wasm)
		}
	})
	b.Run("verify", func(b *testing.B) {
		fi, _ := os.Stat(entry)
		b.SetBytes(fi.Size())
		for b.Loop() {
			f, err := os.Open(entry)
			if err != nil {
				b.Fatal(err)
			}
			if err := verifyEntry(f, st.Key); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("deserialize", func(b *testing.B) {
		for b.Loop() {
			m, err := wasmtime.NewModuleDeserializeFile(comp.engine, entry)
			if err != nil {
				b.Fatal(err)
			}
			m.Close()
		}
	})
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			m, err := c.load(comp, st.Key, &Stats{})
			if err != nil {
				b.Fatal(err)
			}
			m.close()
		}
	})
	for _, cow := range []bool{true, false} {
		name := map[bool]string{true: "prepare", false: "prepare-no-cow"}[cow]
		s := defaultSettings
		s.MemoryInitCOW = cow
		b.Run(name, func(b *testing.B) {
			if _, err := c.Warm(demoModule); err != nil {
				b.Fatal(err)
			}
			warm := newCompiler(s)
			if a, _, err := c.artifact(warm, wasm); err != nil {
				b.Fatal(err)
			} else {
				a.close()
			}
			warm.close()
			for b.Loop() {
				// Each task child builds its engine.
				m := &moduleProgram{wasi: wasiLinker(wasmtimeWASI), compiler: newCompiler(s)}
				a, _, err := c.artifact(m.compiler, wasm)
				if err != nil {
					b.Fatal(err)
				}
				m.module = a.(moduleArtifact).Module
				if err := m.instantiate(Config{ModulePath: demoModule}); err != nil {
					b.Fatal(err)
				}
				m.Close()
			}
		})
	}
}
