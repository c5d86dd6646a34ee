// Package listen opens the TCP listeners that a container asks for with
// WASI_TCP_LISTEN, so that a module can accept connections on sockets it
// could not open itself: WASI preview 1 has no call that creates a socket.
//
// It also opens the one listener of a wasi:http/proxy component, at
// WASMTIME_HTTP_PROXY_SOCKET_ADDR, by the same rules.
//
// The task child calls Open inside the task's network namespace before any
// wasm runs, the way `wasmtime run -S tcplisten=ADDR` did.
package listen

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Env is the container environment variable that lists the addresses:
// host:port[,host:port...].
const Env = "WASI_TCP_LISTEN"

// HTTPProxyEnv is the container environment variable that says where a
// wasi:http/proxy component is served, one host:port, and
// DefaultHTTPProxyAddr the address without it: runwasi's name and default,
// so that images made for its wasmtime shim run unchanged.
const (
	HTTPProxyEnv         = "WASMTIME_HTTP_PROXY_SOCKET_ADDR"
	DefaultHTTPProxyAddr = "0.0.0.0:8080"
	// HTTPMaxInFlightEnv bounds the requests a wasi:http component
	// serves at once (an instance each); more wait for a free one.
	HTTPMaxInFlightEnv = "WASI_HTTP_MAX_IN_FLIGHT"
)

// Parse reads Env's value. A host is an IP address, "localhost" (127.0.0.1)
// or empty (every address of the namespace); names are not resolved, since
// the task's network namespace may resolve them differently from the shim.
func Parse(value string) ([]string, error) {
	var addrs []string
	seen := map[string]bool{}
	for _, item := range strings.Split(value, ",") {
		addr, err := parseOne(strings.TrimSpace(item))
		if err != nil {
			return nil, fmt.Errorf("%s=%q: %w", Env, value, err)
		}
		if seen[addr] {
			return nil, fmt.Errorf("%s=%q: %s is listed twice", Env, value, addr)
		}
		seen[addr] = true
		addrs = append(addrs, addr)
	}
	return addrs, nil
}

// ParseAddr reads one address, the value of the variable name, by the
// rules of Parse; the error names the variable and its value.
func ParseAddr(name, value string) (string, error) {
	addr, err := parseOne(strings.TrimSpace(value))
	if err != nil {
		return "", fmt.Errorf("%s=%q: %w", name, value, err)
	}
	return addr, nil
}

func parseOne(item string) (string, error) {
	if item == "" {
		return "", errors.New("an empty address (want host:port)")
	}
	host, portText, err := net.SplitHostPort(item)
	if err != nil {
		return "", fmt.Errorf("address %q: want host:port", item)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return "", fmt.Errorf("address %q: port %q is not a number from 1 to 65535", item, portText)
	}
	switch host {
	case "":
	case "localhost":
		host = "127.0.0.1"
	default:
		ip, err := netip.ParseAddr(host)
		if err != nil || ip.Zone() != "" {
			return "", fmt.Errorf("address %q: host %q is not an IP address (names are not resolved)", item, host)
		}
		host = ip.Unmap().String()
	}
	return net.JoinHostPort(host, portText), nil
}

// Options say what the module's user may bind.
type Options struct {
	// MayBindPrivileged is true when the process runs as root or holds
	// CAP_NET_BIND_SERVICE, as runc would give it.
	MayBindPrivileged bool
	// UnprivilegedPortStart is the namespace's
	// net.ipv4.ip_unprivileged_port_start (ReadUnprivilegedPortStart).
	UnprivilegedPortStart int
}

// Open listens on each address and returns the listening sockets as
// files, in order. The shim opens them as root, so it checks first what
// the container's user could bind: a port below the namespace's
// unprivileged start needs root or CAP_NET_BIND_SERVICE. On error nothing
// stays open.
func Open(addrs []string, opts Options) ([]*os.File, error) {
	var files []*os.File
	for _, addr := range addrs {
		f, err := openOne(addr, opts)
		if err != nil {
			closeAll(files)
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// Listen listens on one address, after the check that Open makes, for a
// listener that the task child serves itself.
func Listen(addr string, opts Options) (net.Listener, error) {
	if err := checkPort(addr, opts); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return l, nil
}

func openOne(addr string, opts Options) (*os.File, error) {
	l, err := Listen(addr, opts)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	// File duplicates the socket, which stays listening after Close.
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return f, nil
}

func checkPort(addr string, opts Options) error {
	_, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	if port < opts.UnprivilegedPortStart && !opts.MayBindPrivileged {
		return fmt.Errorf("listen on %s: %w: the container's user may bind ports from %d up only (ports below need root or CAP_NET_BIND_SERVICE)", addr, os.ErrPermission, opts.UnprivilegedPortStart)
	}
	return nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// ReadUnprivilegedPortStart reads net.ipv4.ip_unprivileged_port_start of
// the calling thread's network namespace; kernels without it (before
// 4.11) keep the historic 1024.
func ReadUnprivilegedPortStart() (int, error) {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if errors.Is(err, os.ErrNotExist) {
		return 1024, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the unprivileged port start: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("read the unprivileged port start: %w", err)
	}
	return n, nil
}
