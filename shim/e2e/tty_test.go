package e2e

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// TestTTY: `ctr run -t` from a terminal gives the task a pty, and the
// module's output arrives through it.
func TestTTY(t *testing.T) {
	d := needDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), ctrTimeout)
	defer cancel()
	args := append([]string{"run", "-t", "--rm"}, runFlags()...)
	args = append(args, testdataImage, containerID(t), helloModule, "a", "b")
	cmd := d.ctrExec(ctx, args...)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatalf("start ctr on a pty: %v", err)
	}
	defer ptmx.Close()
	var out bytes.Buffer
	// Reading ends with EIO once ctr, the last holder of the slave side,
	// exits; that is the pty's EOF.
	io.Copy(&out, ptmx)
	err = cmd.Wait()
	text := strings.ReplaceAll(out.String(), "\r\n", "\n")
	t.Logf("ctr %s -> %v\npty: %q", strings.Join(args, " "), err, text)
	if err != nil {
		t.Errorf("ctr run -t: %v", err)
	}
	for _, want := range []string{"Hello from WebAssembly!", "args: a b"} {
		if !hasLine(text, want) {
			t.Errorf("pty output lacks %q", want)
		}
	}
}
