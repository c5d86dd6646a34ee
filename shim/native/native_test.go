package native

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestRuncErrorAddsTheLoggedCause(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log.json")
	lines := `{"level":"info","msg":"starting"}
{"level":"error","msg":"first failure"}
not json
{"level":"error","msg":"runc create failed: unable to start container process: exec: \"x\": executable file not found in $PATH"}
`
	if err := os.WriteFile(log, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	base := errors.New("exit status 1")
	err := runcError(log, base)
	if !errors.Is(err, base) || !strings.Contains(err.Error(), `exec: "x": executable file not found`) || strings.Contains(err.Error(), "first failure") {
		t.Fatalf("runcError = %v", err)
	}
	if err := runcError(filepath.Join(dir, "missing"), base); err != base {
		t.Fatalf("without a log: %v", err)
	}
}

// TestWaitReapsByPid: Wait reaps the one process it was given and reports
// its status as runc's shim does; another child's exit is left alone.
func TestWaitReapsByPid(t *testing.T) {
	tests := []struct {
		name string
		args []string
		sig  syscall.Signal
		want int
	}{
		{"exit code", []string{"sh", "-c", "exit 3"}, 0, 3},
		{"killed", []string{"sleep", "60"}, syscall.SIGKILL, 128 + 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			other := exec.Command("sleep", "0.1")
			if err := other.Start(); err != nil {
				t.Fatal(err)
			}
			var attr syscall.ProcAttr
			attr.Files = []uintptr{0, 1, 2}
			path, err := exec.LookPath(tc.args[0])
			if err != nil {
				t.Skip(err)
			}
			pid, err := syscall.ForkExec(path, tc.args, &attr)
			if err != nil {
				t.Fatal(err)
			}
			p := newProc(pid)
			if tc.sig != 0 {
				if err := syscall.Kill(pid, tc.sig); err != nil {
					t.Fatal(err)
				}
			}
			if got := p.Wait(); got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
			if got := p.Wait(); got != tc.want {
				t.Errorf("second Wait: %d, want %d", got, tc.want)
			}
			if err := other.Wait(); err != nil {
				t.Errorf("the other child's exit was taken: %v", err)
			}
		})
	}
}

// TestExecNeverStarted: an exec killed before its Start reports 255 at
// once and cannot start afterwards.
func TestExecNeverStarted(t *testing.T) {
	e := &Exec{execID: "e1", proc: newProc(0)}
	if err := e.Signal(syscall.SIGKILL); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("signal before start: %v", err)
	}
	if got := e.Wait(); got != 255 {
		t.Fatalf("wait: %d, want 255", got)
	}
	if err := e.Start(); err == nil {
		t.Fatal("an exec killed before its start started")
	}
}
