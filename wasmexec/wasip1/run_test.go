package wasip1

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// testEngine compiles every module the tests run; an engine is safe to
// share between goroutines.
var testEngine = sync.OnceValue(wasmtime.NewEngine)

// outcome is how a module run ended.
type outcome struct {
	status uint32 // proc_exit's status, 0 if _start returned
	err    error  // a trap other than proc_exit, or a link error
	stdout string
	stderr string
}

// runModule instantiates wasm with our host on cfg (stdout and stderr are
// captured unless cfg sets them) and calls _start.
func runModule(t testing.TB, wasm []byte, cfg Config) outcome {
	t.Helper()
	module, err := wasmtime.NewModule(testEngine(), wasm)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	defer module.Close()
	dir := t.TempDir()
	var outFiles []*os.File
	for _, f := range []**os.File{&cfg.Stdout, &cfg.Stderr} {
		if *f == nil {
			*f = createFile(t, filepath.Join(dir, "out"+string(rune('0'+len(outFiles)))))
			outFiles = append(outFiles, *f)
		} else {
			outFiles = append(outFiles, nil)
		}
	}
	store := wasmtime.NewStore(testEngine())
	defer store.Close()
	h, err := New(store, cfg)
	if err != nil {
		t.Fatalf("new host: %v", err)
	}
	defer h.Close()
	var out outcome
	out.err = instantiateAndRun(h, store, module)
	if status, ok := h.Exited(); ok {
		out.status, out.err = status, nil
	}
	if outFiles[0] != nil {
		out.stdout = readAll(t, outFiles[0])
	}
	if outFiles[1] != nil {
		out.stderr = readAll(t, outFiles[1])
	}
	return out
}

func instantiateAndRun(h *Host, store *wasmtime.Store, module *wasmtime.Module) error {
	linker := wasmtime.NewLinker(testEngine())
	defer linker.Close()
	if err := h.DefineFor(linker, module); err != nil {
		return err
	}
	inst, err := linker.Instantiate(store, module)
	if err != nil {
		return err
	}
	if err := h.Bind(inst); err != nil {
		return err
	}
	start := inst.GetFunc(store, "_start")
	if start == nil {
		return errors.New("no _start")
	}
	_, err = start.Call(store)
	return err
}

func createFile(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readAll(t testing.TB, f *os.File) string {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wat(t testing.TB, text string) []byte {
	t.Helper()
	wasm, err := wasmtime.Wat2Wasm(text)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}
