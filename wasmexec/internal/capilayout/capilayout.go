// Package capilayout checks, in tests, that the C declarations a package
// writes out for wasmtime's C API lay out as wasmtime's own headers do.
// cgo cannot include the headers from the module cache, so packages
// declare what they use; a test hands the sizes, offsets and constants
// its Go side sees (unsafe.Sizeof, unsafe.Offsetof, C.CONSTANT) to Check,
// which compiles a C program against the headers of the wasmtime-go
// release in go.mod and compares.
package capilayout

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Module is the wasmtime-go module whose headers are the reference.
const Module = "github.com/bytecodealliance/wasmtime-go/v39"

// Check compiles every expression of want (a C expression such as
// "sizeof(wasmtime_val_t)" or "offsetof(wasmtime_val_t, of)") against
// wasmtime.h and wasi.h, and fails t for each value that differs from
// the declared one.
func Check(t *testing.T, want map[string]int) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", Module).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", Module, err)
	}
	include := filepath.Join(strings.TrimSpace(string(out)), "build", "include")
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	var prog strings.Builder
	prog.WriteString("#include <stddef.h>\n#include <stdio.h>\n#include <wasmtime.h>\n#include <wasi.h>\nint main(void) {\n")
	for _, name := range names {
		fmt.Fprintf(&prog, "\tprintf(\"%%s %%zu\\n\", %q, (size_t)(%s));\n", name, name)
	}
	prog.WriteString("\treturn 0;\n}\n")
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "layout.c"), filepath.Join(dir, "layout")
	if err := os.WriteFile(src, []byte(prog.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cc", "-I", include, "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	out, err = exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		i := strings.LastIndexByte(line, ' ')
		name, value := line[:i], line[i+1:]
		if got, _ := strconv.Atoi(value); got != want[name] {
			t.Errorf("%s: wasmtime's headers say %d, the declarations %d", name, got, want[name])
		}
	}
}
