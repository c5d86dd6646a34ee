package wasmexec

import "os"

// DefaultEntrypoint is the function a WASI command exports as its main.
const DefaultEntrypoint = "_start"

// TrapExitStatus is the exit status of a module that traps (unreachable,
// stack overflow, out-of-bounds access...). It is EX_SOFTWARE from
// sysexits.h: below 128 so that nobody reads it as "killed by a signal", as
// Kubernetes would read runwasi's 137.
const TrapExitStatus = 70

// Config says what to run and what the module may see. Nothing of the host
// process leaks into the module unless it is named here.
type Config struct {
	// ModulePath is the module file's path on the host.
	ModulePath string
	// Args is the module's argv, args[0] included.
	Args []string
	// Env holds KEY=VALUE pairs.
	Env []string
	// Preopens are the directories the module may open.
	Preopens []Preopen
	// Entrypoint is the exported function to call; DefaultEntrypoint if empty.
	Entrypoint string
	// CacheDir is the compile cache's directory (see Cache); "" compiles
	// every time.
	CacheDir string
	// CacheMaxBytes bounds the cache; DefaultCacheMaxBytes if 0.
	CacheMaxBytes int64
	// MaxMemoryBytes bounds the module's linear memory: memory.grow past it
	// fails (0 = no bound beyond the engine's own).
	MaxMemoryBytes int64
	// WASI is a core module's WASI preview 1 host; "" is WASIGo.
	// Components always get wasmtime's WASI 0.2.
	WASI WASIHost
	// Listeners are listening sockets the module gets as preopened
	// sockets, numbered after the preopened directories and named in its
	// environment (ListenFDsEnv). They need WASIGo. The caller keeps and
	// closes its own descriptors.
	Listeners []*os.File
}

// Preopen maps a host directory into the module's file system.
type Preopen struct {
	HostPath  string
	GuestPath string
	ReadOnly  bool
}

func (c Config) entrypoint() string {
	if c.Entrypoint == "" {
		return DefaultEntrypoint
	}
	return c.Entrypoint
}
