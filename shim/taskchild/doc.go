// Package taskchild is the protocol between the shim and the process that
// runs one task (or exec): the shim re-executes its own binary with
// ChildArg, hands it a Spec on fd 3, and learns on fd 4 whether the module
// is ready. The child then waits on fd 5 for the word to start, so that
// Create can report a bad module and Start only has to say "go", the way
// runc splits create and start.
//
// The engine that actually runs the module is injected by main through the
// Engine interface, which keeps this package (and the shim) free of cgo.
package taskchild
