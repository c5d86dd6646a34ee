package wasmexec

// wasi:cli: stdin, stdout, stderr, environment, exit and the terminal
// interfaces (no terminal: every get-terminal-* answers none).

import (
	"fmt"
	"io"
	"strings"
)

const (
	p2TerminalInput  = "wasi:cli/terminal-input"
	p2TerminalOutput = "wasi:cli/terminal-output"
)

func init() {
	registerP2Interface("wasi:cli/stdin", defineP2Stdin)
	registerP2Interface("wasi:cli/stdout", defineP2Output("get-stdout", func(c *p2Context) io.Writer { return c.stdout }))
	registerP2Interface("wasi:cli/stderr", defineP2Output("get-stderr", func(c *p2Context) io.Writer { return c.stderr }))
	registerP2Interface("wasi:cli/environment", defineP2Environment)
	registerP2Interface("wasi:cli/exit", defineP2Exit)
	registerP2Interface(p2TerminalInput, func(w *p2World, name string) {
		w.l.defineResource(name, "terminal-input", nil)
	})
	registerP2Interface(p2TerminalOutput, func(w *p2World, name string) {
		w.l.defineResource(name, "terminal-output", nil)
	})
	registerP2Interface("wasi:cli/terminal-stdin", func(w *p2World, name string) {
		defineP2NoTerminal(w, name, "get-terminal-stdin", p2TerminalInput, "terminal-input")
	})
	registerP2Interface("wasi:cli/terminal-stdout", func(w *p2World, name string) {
		defineP2NoTerminal(w, name, "get-terminal-stdout", p2TerminalOutput, "terminal-output")
	})
	registerP2Interface("wasi:cli/terminal-stderr", func(w *p2World, name string) {
		defineP2NoTerminal(w, name, "get-terminal-stderr", p2TerminalOutput, "terminal-output")
	})
}

// sharedStdin is a handle on the instance's one stdin stream: every
// get-stdin reads the same stream, and dropping a handle leaves it open.
type sharedStdin struct{ inputStream }

func (sharedStdin) close() error { return nil }

func defineP2Stdin(w *p2World, name string) {
	w.resource(p2IOStreams, "input-stream")
	w.l.defineFunc(name, "get-stdin", func(h *hostInstance, p, r []cval) error {
		c, err := p2ctx(h)
		if err != nil {
			return err
		}
		if c.stdinStream == nil {
			c.stdinStream = emptyStream{}
			if c.stdin != nil {
				c.stdinStream = newReaderStream(c.stdin, nil)
			}
		}
		r[0] = h.newInputStream(w, sharedStdin{c.stdinStream})
		return nil
	})
}

// defineP2Output defines an interface of one function, fn, that hands
// the guest the output stream of the instance's context that out picks.
func defineP2Output(fn string, out func(*p2Context) io.Writer) func(w *p2World, name string) {
	return func(w *p2World, name string) {
		w.resource(p2IOStreams, "output-stream")
		w.l.defineFunc(name, fn, func(h *hostInstance, p, r []cval) error {
			c, err := p2ctx(h)
			if err != nil {
				return err
			}
			r[0] = h.newOutputStream(w, newWriterStream(out(c), nil))
			return nil
		})
	}
}

// validText makes s safe to cross into wasmtime as a string (which must
// be UTF-8): invalid bytes become U+FFFD.
func validText(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func defineP2Environment(w *p2World, name string) {
	w.l.defineFunc(name, "get-environment", func(h *hostInstance, p, r []cval) error {
		c, err := p2ctx(h)
		if err != nil {
			return err
		}
		env := make([]cval, len(c.env))
		for i, kv := range c.env {
			env[i] = valTuple(valString(validText(kv[0])), valString(validText(kv[1])))
		}
		r[0] = valList(env...)
		return nil
	})
	w.l.defineFunc(name, "get-arguments", func(h *hostInstance, p, r []cval) error {
		c, err := p2ctx(h)
		if err != nil {
			return err
		}
		args := make([]cval, len(c.args))
		for i, a := range c.args {
			args[i] = valString(validText(a))
		}
		r[0] = valList(args...)
		return nil
	})
	w.l.defineFunc(name, "initial-cwd", func(h *hostInstance, p, r []cval) error {
		// No filesystem is reachable, so there is no working directory.
		r[0] = valNone()
		return nil
	})
}

// p2ExitMessage starts the trap of wasi:cli/exit; the status is in the
// instance's p2Context (exited).
const p2ExitMessage = "wasi:cli/exit: the guest exited with status"

func defineP2Exit(w *p2World, name string) {
	exit := func(h *hostInstance, status int) error {
		c, err := p2ctx(h)
		if err != nil {
			return err
		}
		c.exitStatus = &status
		return fmt.Errorf("%s %d", p2ExitMessage, status)
	}
	w.l.defineFunc(name, "exit", func(h *hostInstance, p, r []cval) error {
		status := 0
		if !p[0].IsOk() {
			status = 1
		}
		return exit(h, status)
	})
	// exit-with-code is unstable in WASI 0.2 (feature cli-exit-with-code);
	// an instance may define more than a component imports, so it is
	// there for a component built with the feature.
	w.l.defineFunc(name, "exit-with-code", func(h *hostInstance, p, r []cval) error {
		return exit(h, int(p[0].U8()))
	})
}

func defineP2NoTerminal(w *p2World, name, fn, base, resource string) {
	w.resource(base, resource)
	w.l.defineFunc(name, fn, func(h *hostInstance, p, r []cval) error {
		r[0] = valNone()
		return nil
	})
}
