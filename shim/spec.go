package shim

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/containerd/errdefs"
	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/entrypoint"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
)

func readBundleSpec(bundle string) (*specs.Spec, error) {
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("read OCI spec: %w", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("parse OCI spec %s: %w: %w", filepath.Join(bundle, "config.json"), err, errdefs.ErrInvalidArgument)
	}
	return &spec, nil
}

// rootfsPath is where the container's root lives on the host.
func rootfsPath(bundle string, spec *specs.Spec) string {
	if spec.Root == nil || spec.Root.Path == "" {
		return filepath.Join(bundle, "rootfs")
	}
	if filepath.IsAbs(spec.Root.Path) {
		return spec.Root.Path
	}
	return filepath.Join(bundle, spec.Root.Path)
}

// childOptions turns an OCI process (the task's or an exec's) into what a
// task child runs: the module, its argv and env, and what it may open.
func childOptions(spec *specs.Spec, proc *specs.Process, rootfs string) (taskchild.Options, error) {
	var opts taskchild.Options
	if proc == nil || len(proc.Args) == 0 {
		return opts, fmt.Errorf("process.args is empty: nothing names the module to run: %w", errdefs.ErrInvalidArgument)
	}
	if proc.Args[0] == "" {
		return opts, fmt.Errorf("process.args[0] is empty: it must name the module to run: %w", errdefs.ErrInvalidArgument)
	}
	if err := checkStrings(proc.Args, proc.Env); err != nil {
		return opts, err
	}
	preopens, err := preopensFor(spec, rootfs)
	if err != nil {
		return opts, err
	}
	modulePath, entry, err := resolveModule(proc, preopens)
	if err != nil {
		return opts, err
	}
	ns, err := specNamespaces(spec)
	if err != nil {
		return opts, err
	}
	wasiHost, err := wasiHostOf(spec)
	if err != nil {
		return opts, err
	}
	listenAddrs, bind, err := listenersOf(spec, proc)
	if err != nil {
		return opts, err
	}
	if err := hostTakesListeners(wasiHost, listenAddrs); err != nil {
		return opts, err
	}
	maxInFlight, err := httpMaxInFlightOf(proc)
	if err != nil {
		return opts, err
	}
	cacheDir, cacheMaxBytes := taskchild.CacheFromEnv(os.Getenv)
	opts.Spec = taskchild.Spec{
		WASIHost:        wasiHost,
		Listen:          listenAddrs,
		Bind:            bind,
		HTTPProxyAddr:   httpProxyAddrOf(proc),
		HTTPMaxInFlight: maxInFlight,
		ModulePath:      modulePath,
		Args:            proc.Args,
		Env:             envWithPWD(proc.Env, proc.Cwd),
		Preopens:        preopens,
		Entrypoint:      entry,
		CacheDir:        cacheDir,
		CacheMaxBytes:   cacheMaxBytes,
		MaxMemoryBytes:  linearMemoryLimit(spec),
		User:            &taskchild.User{UID: proc.User.UID, GID: proc.User.GID, AdditionalGids: proc.User.AdditionalGids},
	}
	opts.Cloneflags, opts.Unshareflags, opts.Join = ns.clone, ns.unshare, ns.join
	return opts, nil
}

// engineReserve is memory the task child needs besides the module's linear
// memory (the engine, the code, stacks): the linear memory gets the rest
// of the memory limit, so that a module that outgrows it fails its
// memory.grow, with a clear message, before the cgroup's OOM killer
// strikes.
const engineReserve = 16 << 20

func linearMemoryLimit(spec *specs.Spec) int64 {
	if spec.Linux == nil || spec.Linux.Resources == nil || spec.Linux.Resources.Memory == nil || spec.Linux.Resources.Memory.Limit == nil {
		return 0
	}
	limit := *spec.Linux.Resources.Memory.Limit
	if limit <= 0 {
		return 0
	}
	return limit - min(engineReserve, limit/4)
}

func checkStrings(lists ...[]string) error {
	for _, list := range lists {
		for _, s := range list {
			if strings.ContainsRune(s, 0) {
				return fmt.Errorf("argument or environment entry %q contains a NUL byte: %w", s, errdefs.ErrInvalidArgument)
			}
		}
	}
	return nil
}

// kernelFilesystems are the mount types that runtimes put in every spec for
// native programs (/proc, /dev, /sys, /run...): a WASI module has no use
// for them, so they are left out. Any other type is refused, not ignored.
var kernelFilesystems = map[string]bool{
	"proc": true, "sysfs": true, "tmpfs": true, "devpts": true, "mqueue": true,
	"cgroup": true, "cgroup2": true, "shm": true, "devtmpfs": true,
}

// preopensFor grants the module the rootfs at / and every bind mount of a
// directory at its destination.
func preopensFor(spec *specs.Spec, rootfs string) ([]taskchild.Preopen, error) {
	if fi, err := os.Stat(rootfs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("rootfs %s is not a directory: %w", rootfs, errdefs.ErrInvalidArgument)
	}
	readonly := spec.Root != nil && spec.Root.Readonly
	preopens := []taskchild.Preopen{{HostPath: rootfs, GuestPath: "/", ReadOnly: readonly}}
	for _, m := range spec.Mounts {
		if !isBind(m) {
			if !kernelFilesystems[m.Type] {
				return nil, fmt.Errorf("mount of type %q at %s is not supported (only bind mounts reach a wasm module): %w", m.Type, m.Destination, errdefs.ErrInvalidArgument)
			}
			continue
		}
		if fi, err := os.Stat(m.Source); err == nil && !fi.IsDir() {
			// A file bind mount (CRI's /etc/hosts, /etc/hostname,
			// /etc/resolv.conf, /dev/termination-log): WASI preopens
			// only directories, so a module cannot be given one file.
			continue
		}
		preopens = append(preopens, taskchild.Preopen{
			HostPath:  m.Source,
			GuestPath: path.Clean("/" + m.Destination),
			ReadOnly:  readonly && !slices.Contains(m.Options, "rw") || slices.Contains(m.Options, "ro"),
		})
	}
	return preopens, nil
}

func isBind(m specs.Mount) bool {
	return m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
}

// resolveModule finds args[0] on the host without leaving the rootfs or
// the mount it falls in, even through symlinks; it returns the host path
// and the function to call ("" for the engine's default).
func resolveModule(proc *specs.Process, preopens []taskchild.Preopen) (string, string, error) {
	ref, ok := entrypoint.Parse(proc.Args, proc.Cwd)
	if !ok {
		return "", "", fmt.Errorf("process.args[0] %q names no module: %w", proc.Args[0], errdefs.ErrInvalidArgument)
	}
	p := innermostPreopen(ref.Path, preopens)
	rel := strings.TrimPrefix(ref.Path, p.GuestPath)
	host, err := securejoin.SecureJoin(p.HostPath, rel)
	if err != nil {
		return "", "", fmt.Errorf("resolve module %s: %w: %w", ref.Name, err, errdefs.ErrInvalidArgument)
	}
	fi, err := os.Stat(host)
	switch {
	case os.IsNotExist(err):
		return "", "", fmt.Errorf("module %s not found in the container (args[0] resolved to %s): %w", ref.Name, ref.Path, errdefs.ErrNotFound)
	case err != nil:
		return "", "", fmt.Errorf("module %s: %w", ref.Name, err)
	case !fi.Mode().IsRegular():
		return "", "", fmt.Errorf("module %s is not a regular file: %w", ref.Name, errdefs.ErrInvalidArgument)
	}
	return host, ref.Function, nil
}

func innermostPreopen(guest string, preopens []taskchild.Preopen) taskchild.Preopen {
	best := preopens[0]
	for _, p := range preopens[1:] {
		inside := guest == p.GuestPath || strings.HasPrefix(guest, strings.TrimSuffix(p.GuestPath, "/")+"/")
		if inside && len(p.GuestPath) > len(best.GuestPath) {
			best = p
		}
	}
	return best
}

// envWithPWD tells Go-built modules their working directory: WASI has no
// cwd of its own, and Go's wasip1 runtime reads it from PWD.
func envWithPWD(env []string, cwd string) []string {
	if cwd == "" || cwd == "/" || slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "PWD=") }) {
		return env
	}
	return append(slices.Clone(env), "PWD="+path.Clean("/"+cwd))
}

var namespaceFlags = map[specs.LinuxNamespaceType]uintptr{
	specs.PIDNamespace:     syscall.CLONE_NEWPID,
	specs.MountNamespace:   syscall.CLONE_NEWNS,
	specs.IPCNamespace:     syscall.CLONE_NEWIPC,
	specs.UTSNamespace:     syscall.CLONE_NEWUTS,
	specs.NetworkNamespace: syscall.CLONE_NEWNET,
	specs.CgroupNamespace:  syscall.CLONE_NEWCGROUP,
}

// specNamespaces are the new namespaces the spec asks for (clone flags) and
// the existing ones it names by path, such as a Pod's network namespace.
// A mount namespace given by path cannot be joined by a thread of the
// (multi-threaded) shim and is refused, not ignored.
func specNamespaces(spec *specs.Spec) (childNamespaces, error) {
	var ns childNamespaces
	if spec.Linux == nil {
		return ns, nil
	}
	for _, n := range spec.Linux.Namespaces {
		if n.Type == specs.TimeNamespace {
			if err := timeNamespace(spec.Linux, n.Path); err != nil {
				return ns, err
			}
			ns.unshare |= unix.CLONE_NEWTIME
			continue
		}
		flag, ok := namespaceFlags[n.Type]
		if !ok {
			return ns, fmt.Errorf("namespace %q is not supported: %w", n.Type, errdefs.ErrNotImplemented)
		}
		if n.Path == "" {
			ns.clone |= flag
			continue
		}
		if !taskchild.Joinable(int(flag)) {
			return ns, fmt.Errorf("joining the %s namespace at %s is not supported for a wasm task: %w", n.Type, n.Path, errdefs.ErrNotImplemented)
		}
		ns.join = append(ns.join, taskchild.Namespace{Type: int(flag), Path: n.Path})
	}
	return ns, nil
}

// childNamespaces are what a task child is started in: new ones made by
// clone, new ones made by unshare before its exec, and joined ones.
type childNamespaces struct {
	clone, unshare uintptr
	join           []taskchild.Namespace
}

// timeNamespace checks that a time namespace is one the child can have.
// Its flag shares clone's exit-signal bits, so the child unshares it
// before its exec, which moves it in; nothing runs in between that could
// write clock offsets. Docker gives every container a time namespace with
// no offsets, which is the case this serves: the clocks stay the host's.
func timeNamespace(linux *specs.Linux, path string) error {
	if path != "" {
		return fmt.Errorf("joining the time namespace at %s is not supported for a wasm task: %w", path, errdefs.ErrNotImplemented)
	}
	for clock, off := range linux.TimeOffsets {
		if off.Secs != 0 || off.Nanosecs != 0 {
			return fmt.Errorf("time namespace offset of %s: offsets are not supported for a wasm task: %w", clock, errdefs.ErrNotImplemented)
		}
	}
	return nil
}
