package taskchild

import "io"

// ChildArg is os.Args[1] of a task child.
const ChildArg = "__wasm-task-child"

// Spec is everything a task child needs: what to run, and what the module
// may see. It is built by the shim from the OCI spec.
type Spec struct {
	// ModulePath is the module's path on the host (inside the rootfs).
	ModulePath string    `json:"modulePath"`
	Args       []string  `json:"args"`
	Env        []string  `json:"env"`
	Preopens   []Preopen `json:"preopens"`
	// Entrypoint is the exported function to call ("" = the engine's default).
	Entrypoint string `json:"entrypoint,omitempty"`
}

// Preopen is a host directory the module sees at GuestPath.
type Preopen struct {
	HostPath  string `json:"hostPath"`
	GuestPath string `json:"guestPath"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

// Engine compiles and links a module; it runs inside the task child.
type Engine interface {
	Prepare(Spec) (Program, error)
}

// Program is a prepared module; Run calls its entrypoint once and says
// how it ended, writing any trap to stderr.
type Program interface {
	Run(stderr io.Writer) Result
}

// Result is how a module ended.
type Result struct {
	// Status is the process exit status.
	Status int
	// OutOfMemory means the module was stopped by its memory limit (a
	// memory.grow refused at the limit), which the shim reports as an OOM.
	OutOfMemory bool
}
