package entrypoint

import (
	"path"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		cwd    string
		want   Ref
		wantOK bool
	}{
		{name: "absolute", args: []string{"/app/m.wasm", "x"}, cwd: "/work", want: Ref{Name: "/app/m.wasm", Path: "/app/m.wasm"}, wantOK: true},
		{name: "relative to cwd", args: []string{"m.wasm"}, cwd: "/app", want: Ref{Name: "m.wasm", Path: "/app/m.wasm"}, wantOK: true},
		{name: "relative without cwd", args: []string{"./m.wasm"}, want: Ref{Name: "./m.wasm", Path: "/m.wasm"}, wantOK: true},
		{name: "relative cwd", args: []string{"m.wasm"}, cwd: "app", want: Ref{Name: "m.wasm", Path: "/app/m.wasm"}, wantOK: true},
		{name: "function", args: []string{"/m.wasm#main"}, want: Ref{Name: "/m.wasm", Path: "/m.wasm", Function: "main"}, wantOK: true},
		{name: "empty function", args: []string{"/m.wasm#"}, want: Ref{Name: "/m.wasm", Path: "/m.wasm"}, wantOK: true},
		{name: "second # belongs to the function", args: []string{"/m.wasm#a#b"}, want: Ref{Name: "/m.wasm", Path: "/m.wasm", Function: "a#b"}, wantOK: true},
		{name: "dot-dot stays inside", args: []string{"../../etc/m.wasm"}, cwd: "/app", want: Ref{Name: "../../etc/m.wasm", Path: "/etc/m.wasm"}, wantOK: true},
		{name: "unclean absolute", args: []string{"/a/./b/../m.wasm"}, want: Ref{Name: "/a/./b/../m.wasm", Path: "/a/m.wasm"}, wantOK: true},
		{name: "no args"},
		{name: "empty args[0]", args: []string{""}},
		{name: "function only", args: []string{"#main"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Parse(tc.args, tc.cwd)
			if ok != tc.wantOK || got != tc.want {
				t.Fatalf("Parse(%q, %q) = %+v, %v; want %+v, %v", tc.args, tc.cwd, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestBare(t *testing.T) {
	for name, want := range map[string]bool{"sh": true, "./sh": false, "/bin/sh": false, "bin/sh": false} {
		ref, _ := Parse([]string{name}, "/")
		if got := ref.Bare(); got != want {
			t.Errorf("Parse(%q).Bare() = %v, want %v", name, got, want)
		}
	}
}

// FuzzParse: whatever args[0] and cwd say, the path is clean and
// absolute, so joining it under a root never climbs out of it.
func FuzzParse(f *testing.F) {
	f.Add("/m.wasm#main", "/")
	f.Add("../../x", "a/../..")
	f.Add("m.wasm", "")
	f.Fuzz(func(t *testing.T, args0, cwd string) {
		ref, ok := Parse([]string{args0}, cwd)
		if !ok {
			return
		}
		if !path.IsAbs(ref.Path) || path.Clean(ref.Path) != ref.Path || strings.Contains(ref.Path, "/../") || strings.HasSuffix(ref.Path, "/..") {
			t.Fatalf("Parse(%q, %q).Path = %q: not clean and absolute", args0, cwd, ref.Path)
		}
		if strings.Contains(ref.Name, "#") || ref.Name == "" {
			t.Fatalf("Parse(%q, %q).Name = %q", args0, cwd, ref.Name)
		}
	})
}
