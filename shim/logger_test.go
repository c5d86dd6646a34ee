package shim

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/pkg/namespaces"
)

// loggerScript is a logging binary in sh: "dir D" is where it writes its
// arguments, environment and the two streams; "mode" says how it signals
// readiness: "byte" (binary-v2), "close" (binary), "exit" (never).
const loggerScript = `#!/bin/sh
dir=$2 mode=$4
echo "$@" > "$dir/args"
env > "$dir/env"
case $mode in
byte) printf x >&5; exec 5>&- ;;
close) exec 5>&- ;;
exit) exit 0 ;;
esac
cat <&3 > "$dir/out" &
cat <&4 > "$dir/err"
wait
`

func TestLogger(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "logger")
	if err := os.WriteFile(bin, []byte(loggerScript), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := namespaces.WithNamespace(context.Background(), "ns1")
	for _, tc := range []struct {
		name, scheme, mode string
		wantErr            string // "" when the logger must be ready
	}{
		{"v2-byte", "binary-v2", "byte", ""},
		{"v1-byte", "binary", "byte", ""},
		{"v1-close", "binary", "close", ""},
		{"v1-exit-counts-as-ready", "binary", "exit", ""},
		{"v2-exit-is-not-ready", "binary-v2", "exit", "did not call ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := startLogger(ctx, tc.scheme+"://"+bin+"?mode="+tc.mode+"&dir="+dir, "c1")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("startLogger: %v, want an error saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("startLogger: %v", err)
			}
			for fd, text := range map[int]string{1: "to stdout\n", 2: "to stderr\n"} {
				w := l.pipe(fd)
				_, _ = w.Write([]byte(text)) // EPIPE when the logger is gone
				if err := w.Close(); err != nil {
					t.Errorf("close fd %d: %v", fd, err)
				}
			}
			l.stop()
			read := func(name string) string { b, _ := os.ReadFile(filepath.Join(dir, name)); return string(b) }
			if got := read("args"); got != "dir "+dir+" mode "+tc.mode+"\n" {
				t.Errorf("args %q: want the query's pairs, sorted", got)
			}
			env := read("env")
			for _, want := range []string{"CONTAINER_ID=c1\n", "CONTAINER_NAMESPACE=ns1\n"} {
				if !strings.Contains(env, want) {
					t.Errorf("environment lacks %q:\n%s", want, env)
				}
			}
			if tc.mode == "exit" {
				return
			}
			if got, got2 := read("out"), read("err"); got != "to stdout\n" || got2 != "to stderr\n" {
				t.Errorf("the logger got %q and %q", got, got2)
			}
		})
	}
}
