package wasip1

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

// TestCDeclarationsMatchHeaders compiles a C program against the headers
// of the wasmtime-go release in go.mod and checks that trampoline.h lays
// out every type and constant it shares with them the same way.
func TestCDeclarationsMatchHeaders(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/bytecodealliance/wasmtime-go/v39").Output()
	if err != nil {
		t.Skipf("go list -m wasmtime-go: %v", err)
	}
	include := filepath.Join(strings.TrimSpace(string(out)), "build", "include")
	want := declaredLayout()
	var names []string
	for name := range want {
		if name != "sizeof(rawVal)" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var prog strings.Builder
	prog.WriteString("#include <stddef.h>\n#include <stdio.h>\n#include <wasmtime.h>\nint main(void) {\n")
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
			t.Errorf("%s: wasmtime's headers say %d, trampoline.h declares %d", name, got, want[name])
		}
	}
	if want["sizeof(rawVal)"] != want["sizeof(wasmtime_val_raw_t)"] {
		t.Errorf("rawVal is %d bytes, wasmtime_val_raw_t %d", want["sizeof(rawVal)"], want["sizeof(wasmtime_val_raw_t)"])
	}
}
