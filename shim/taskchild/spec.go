package taskchild

import (
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/hooks"
)

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
	// CacheDir is the directory of compiled modules shared by all tasks
	// ("" = compile every time), and CacheMaxBytes its bound (0 = the
	// engine's default). The child runs with an empty environment, so the
	// shim resolves them from its own: see CacheFromEnv.
	CacheDir      string `json:"cacheDir,omitempty"`
	CacheMaxBytes int64  `json:"cacheMaxBytes,omitempty"`
	// MaxMemoryBytes bounds the module's linear memory (0 = no bound).
	MaxMemoryBytes int64 `json:"maxMemoryBytes,omitempty"`
	// User is who runs the module once it is prepared (nil = root).
	User *User `json:"user,omitempty"`
	// Hooks are the container's OCI hooks, of which the child runs those
	// of the container's namespaces: createContainer before it prepares
	// the module, startContainer once told to start. nil for an exec.
	Hooks *hooks.Container `json:"hooks,omitempty"`
	// WASIHost is a core module's WASI preview 1 host, one of WASIHosts
	// ("" = the engine's default).
	WASIHost string `json:"wasiHost,omitempty"`
	// Listen holds the addresses the child listens on, in the task's
	// network namespace, before it prepares the module (WASI_TCP_LISTEN,
	// checked by listen.Parse); Bind says what the module's user may bind.
	Listen []string    `json:"listen,omitempty"`
	Bind   *BindPolicy `json:"bind,omitempty"`
	// HTTPProxyAddr is WASMTIME_HTTP_PROXY_SOCKET_ADDR of the process's
	// environment, unparsed ("" = listen.DefaultHTTPProxyAddr): where the
	// child listens if the program is a Server.
	HTTPProxyAddr string `json:"httpProxyAddr,omitempty"`
	// HTTPMaxInFlight is WASI_HTTP_MAX_IN_FLIGHT: how many requests a
	// Server serves at once (0: its default).
	HTTPMaxInFlight int `json:"httpMaxInFlight,omitempty"`
	// Listeners are the sockets the child opened for Listen, handed to
	// the engine; they never cross the spec pipe.
	Listeners []*os.File `json:"-"`
}

// WASIHosts are the WASI preview 1 hosts an engine offers for modules.
var WASIHosts = []string{"go", "wasmtime"}

// BindPolicy is what the process's user may bind, as runc would run it:
// ports below the namespace's unprivileged start need root or
// CAP_NET_BIND_SERVICE.
type BindPolicy struct {
	MayBindPrivileged bool `json:"mayBindPrivileged,omitempty"`
	// UnprivilegedPortStart comes from the spec's linux.sysctl; nil means
	// the namespace's own.
	UnprivilegedPortStart *int `json:"unprivilegedPortStart,omitempty"`
}

// The compile cache is configured by the shim's environment, which
// containerd passes on from its own.
const (
	// CacheDirEnv names the cache directory; CacheOff disables the cache.
	CacheDirEnv = "CONTAINERD_SHIM_WASM_CACHE_DIR"
	// CacheMaxBytesEnv bounds the cache's size, in bytes.
	CacheMaxBytesEnv = "CONTAINERD_SHIM_WASM_CACHE_MAX_BYTES"
	CacheOff         = "off"
	// DefaultCacheDir is on disk, not under containerd's state (/run,
	// a tmpfs), so that compiled modules survive reboots and do not take
	// memory; and it is not inside containerd's root, which is containerd's.
	DefaultCacheDir = "/var/lib/containerd-shim-wasm/cache"
)

// CacheFromEnv resolves the cache directory and bound from an environment
// (os.Getenv). A bound that is not a positive number means the default.
func CacheFromEnv(getenv func(string) string) (dir string, maxBytes int64) {
	dir = getenv(CacheDirEnv)
	switch dir {
	case "":
		dir = DefaultCacheDir
	case CacheOff:
		dir = ""
	}
	maxBytes, err := strconv.ParseInt(getenv(CacheMaxBytesEnv), 10, 64)
	if err != nil || maxBytes < 0 {
		maxBytes = 0
	}
	return dir, maxBytes
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

// Server is a Program that serves requests instead of running to an end:
// a wasi:http/proxy component. The child calls Serve instead of Run, with
// the listener it opened at HTTPProxyAddr.
type Server interface {
	Program
	// Serve serves l until opts.Stop is closed, then stops accepting,
	// lets the requests in flight finish within opts.Grace and returns.
	// An error is why it could not serve on.
	Serve(l net.Listener, opts ServeOptions) error
}

// ServeOptions are what a Server serves with.
type ServeOptions struct {
	// Stop is closed by the first SIGTERM or SIGINT.
	Stop <-chan struct{}
	// Grace bounds the wait for requests in flight once Stop is closed.
	Grace time.Duration
	// Stdout and Stderr take the guest's output: the task's stdio.
	Stdout, Stderr io.Writer
	// MaxInFlight bounds the requests served at once (0: the Server's
	// default).
	MaxInFlight int
}

// Describer is a Program that can say, in a few words for the shim's log,
// how it was prepared (for example whether its code came from a cache).
type Describer interface {
	Describe() string
}

// Result is how a module ended.
type Result struct {
	// Status is the process exit status.
	Status int
	// OutOfMemory means the module was stopped by its memory limit (a
	// memory.grow refused at the limit), which the shim reports as an OOM.
	OutOfMemory bool
}

// User is the identity a task runs as.
type User struct {
	UID            uint32   `json:"uid"`
	GID            uint32   `json:"gid"`
	AdditionalGids []uint32 `json:"additionalGids,omitempty"`
}
