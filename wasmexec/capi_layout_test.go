package wasmexec

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
// of the wasmtime-go release in go.mod and checks that the declarations of
// component_capi.go, wasi_capi.go and component_host_capi.go lay out
// every shared type and constant the same way.
func TestCDeclarationsMatchHeaders(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", wasmtimeModule).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", wasmtimeModule, err)
	}
	include := filepath.Join(strings.TrimSpace(string(out)), "build", "include")
	want := declaredLayout()
	for name, v := range hostDeclaredLayout() {
		if w, ok := want[name]; ok && w != v {
			t.Errorf("%s: declaredLayout says %d, component_host_capi.go %d", name, w, v)
		}
		want[name] = v
	}
	// The C mirror of the value union must agree with the Go offsets.
	for name, v := range hostMirrorLayout() {
		if want[name] != v {
			t.Errorf("%s: component_host_capi.go's C mirror says %d, its Go side %d", name, v, want[name])
		}
	}
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
		got, _ := strconv.Atoi(value)
		if got != want[name] {
			t.Errorf("%s: wasmtime's headers say %d, we declare %d", name, got, want[name])
		}
	}
}
