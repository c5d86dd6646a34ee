// Package entrypoint reads process.args[0] of an OCI process the one way
// the shim does, for the task child, for the choice between wasm and a
// native container, and for placing wasm-layer images: the file's path in
// the container, relative to process.cwd unless it is absolute, and after
// a '#' the function to call (runwasi's "path#function"; none means the
// engine's default, _start).
package entrypoint

import (
	"path"
	"strings"
)

// Ref is what args[0] names.
type Ref struct {
	// Name is args[0] without its #function suffix, as written: for
	// messages, and for a PATH lookup of a bare name.
	Name string
	// Path is Name as a clean absolute path in the container.
	Path string
	// Function is what follows the first '#' ("" when nothing does).
	Function string
}

// Parse reads args[0] with cwd, the process's working directory; ok is
// false when there is no args[0] or it names no file.
func Parse(args []string, cwd string) (ref Ref, ok bool) {
	if len(args) == 0 {
		return Ref{}, false
	}
	name, function, _ := strings.Cut(args[0], "#")
	if name == "" {
		return Ref{}, false
	}
	guest := name
	if !path.IsAbs(guest) {
		guest = path.Join("/", cwd, guest)
	}
	return Ref{Name: name, Path: path.Clean(guest), Function: function}, true
}

// Bare says whether Name is a bare command name, which an exec looks up
// on PATH rather than in the working directory.
func (r Ref) Bare() bool { return !strings.Contains(r.Name, "/") }
