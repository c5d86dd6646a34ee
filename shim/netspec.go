package shim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/listen"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
)

// AnnotationWASIHost picks a module's WASI preview 1 host per container:
// "go" (the default, with sockets) or "wasmtime" (wasmtime's own).
const AnnotationWASIHost = "io.containerd.wasm.wasi-host"

// sysctlUnprivilegedPortStart is the sysctl that Docker sets to 0 in
// containers, letting any user bind any port.
const sysctlUnprivilegedPortStart = "net.ipv4.ip_unprivileged_port_start"

// wasiHostOf reads AnnotationWASIHost.
func wasiHostOf(spec *specs.Spec) (string, error) {
	host := spec.Annotations[AnnotationWASIHost]
	if host != "" && !slices.Contains(taskchild.WASIHosts, host) {
		return "", fmt.Errorf("annotation %s=%q: want one of %s: %w", AnnotationWASIHost, host, strings.Join(taskchild.WASIHosts, ", "), errdefs.ErrInvalidArgument)
	}
	return host, nil
}

// hostTakesListeners refuses listeners under wasmtime's host at create,
// before the task child opens them: its C API cannot hand a module a
// socket. The error names the addresses and the annotation.
func hostTakesListeners(host string, addrs []string) error {
	if host != "wasmtime" || len(addrs) == 0 {
		return nil
	}
	return fmt.Errorf("%s=%s: annotation %s=%q: wasmtime's preview 1 cannot take listening sockets (the default Go host can): %w",
		listen.Env, strings.Join(addrs, ","), AnnotationWASIHost, host, errdefs.ErrInvalidArgument)
}

// listenersOf reads WASI_TCP_LISTEN from the process's environment and
// what its user may bind. The last setting wins, as a shell's would. The
// policy comes with or without listeners: a wasi:http component's listener
// (httpProxyAddrOf) needs it too, and only the task child learns whether
// the program is one.
func listenersOf(spec *specs.Spec, proc *specs.Process) ([]string, *taskchild.BindPolicy, error) {
	policy, err := bindPolicyOf(spec, proc)
	if err != nil {
		return nil, nil, err
	}
	value, ok := lastEnv(proc.Env, listen.Env)
	if !ok {
		return nil, policy, nil
	}
	addrs, err := listen.Parse(value)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
	}
	return addrs, policy, nil
}

func bindPolicyOf(spec *specs.Spec, proc *specs.Process) (*taskchild.BindPolicy, error) {
	policy := &taskchild.BindPolicy{MayBindPrivileged: mayBindPrivileged(proc)}
	if spec.Linux != nil {
		if v, ok := spec.Linux.Sysctl[sysctlUnprivilegedPortStart]; ok {
			start, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("linux.sysctl %s=%q: %w", sysctlUnprivilegedPortStart, v, errdefs.ErrInvalidArgument)
			}
			policy.UnprivilegedPortStart = &start
		}
	}
	return policy, nil
}

// httpProxyAddrOf is the last WASMTIME_HTTP_PROXY_SOCKET_ADDR of the
// process's environment, unparsed ("" when unset): the task child parses
// it once it knows that the program is a wasi:http component, so that a
// module, which never listens there, is not refused for it.
func httpProxyAddrOf(proc *specs.Process) string {
	value, _ := lastEnv(proc.Env, listen.HTTPProxyEnv)
	return value
}

// maxHTTPInFlight bounds WASI_HTTP_MAX_IN_FLIGHT: each request in
// flight holds an instance and an OS thread, and Go stops a process at
// 10,000 threads.
const maxHTTPInFlight = 8192

// httpMaxInFlightOf is WASI_HTTP_MAX_IN_FLIGHT of the process's
// environment, 0 when unset (the server's default). It is checked at
// create for every program, like any bad value of the spec: a typo there
// would otherwise pass silently.
func httpMaxInFlightOf(proc *specs.Process) (int, error) {
	value, ok := lastEnv(proc.Env, listen.HTTPMaxInFlightEnv)
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < 1 || n > maxHTTPInFlight {
		return 0, fmt.Errorf("%s=%q: want a number of requests from 1 to %d: %w", listen.HTTPMaxInFlightEnv, value, maxHTTPInFlight, errdefs.ErrInvalidArgument)
	}
	return n, nil
}

// mayBindPrivileged says whether the process, run by runc, could bind a
// privileged port: it needs CAP_NET_BIND_SERVICE in its effective set,
// which a process of another user than root keeps only as an ambient
// capability across its exec.
func mayBindPrivileged(proc *specs.Process) bool {
	const capability = "CAP_NET_BIND_SERVICE"
	caps := proc.Capabilities
	if caps == nil {
		// No capabilities section: runc gives none, but a spec without
		// one is from a client that does not manage them; root keeps
		// what root has.
		return proc.User.UID == 0
	}
	if proc.User.UID == 0 {
		return slices.Contains(caps.Effective, capability)
	}
	return slices.Contains(caps.Ambient, capability)
}

func lastEnv(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}
