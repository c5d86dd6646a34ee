package shim

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestListenersOf(t *testing.T) {
	root := specs.User{UID: 0}
	user := specs.User{UID: 1000}
	bindCap := []string{"CAP_NET_BIND_SERVICE"}
	for _, tc := range []struct {
		name       string
		env        []string
		user       specs.User
		caps       *specs.LinuxCapabilities
		sysctl     map[string]string
		want       string
		privileged bool
		portStart  string
		err        string
	}{
		{name: "unset", env: []string{"A=1"}, privileged: true},
		{name: "unset, a user", env: []string{"A=1"}, user: user, caps: &specs.LinuxCapabilities{}},
		{name: "root with the capability", env: []string{"WASI_TCP_LISTEN=0.0.0.0:80"}, user: root, caps: &specs.LinuxCapabilities{Effective: bindCap}, want: "0.0.0.0:80", privileged: true},
		{name: "root without it", env: []string{"WASI_TCP_LISTEN=0.0.0.0:80"}, user: root, caps: &specs.LinuxCapabilities{}, want: "0.0.0.0:80"},
		{name: "root, no capabilities section", env: []string{"WASI_TCP_LISTEN=:80"}, user: root, want: ":80", privileged: true},
		{name: "a user with it bounded only", env: []string{"WASI_TCP_LISTEN=:80"}, user: user, caps: &specs.LinuxCapabilities{Effective: bindCap, Bounding: bindCap}, want: ":80"},
		{name: "a user with it ambient", env: []string{"WASI_TCP_LISTEN=:80"}, user: user, caps: &specs.LinuxCapabilities{Ambient: bindCap}, want: ":80", privileged: true},
		{name: "the last setting wins", env: []string{"WASI_TCP_LISTEN=:1", "WASI_TCP_LISTEN=:2"}, want: ":2", privileged: true},
		{name: "docker's sysctl", env: []string{"WASI_TCP_LISTEN=:80"}, user: user, caps: &specs.LinuxCapabilities{}, sysctl: map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"}, want: ":80", portStart: "0"},
		{name: "bad sysctl", env: []string{"WASI_TCP_LISTEN=:80"},
			sysctl: map[string]string{"net.ipv4.ip_unprivileged_port_start": "x"}, err: "ip_unprivileged_port_start"},
		{name: "bad sysctl, no listeners", sysctl: map[string]string{"net.ipv4.ip_unprivileged_port_start": "x"}, err: "ip_unprivileged_port_start"},
		{name: "bad address", env: []string{"WASI_TCP_LISTEN=nope"}, err: `WASI_TCP_LISTEN="nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &specs.Spec{Linux: &specs.Linux{Sysctl: tc.sysctl}}
			proc := &specs.Process{Env: tc.env, User: tc.user, Capabilities: tc.caps}
			addrs, bind, err := listenersOf(spec, proc)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, errdefs.ErrInvalidArgument) {
					t.Fatalf("error = %v, want InvalidArgument with %q", err, tc.err)
				}
				return
			}
			if err != nil || strings.Join(addrs, ",") != tc.want {
				t.Fatalf("listenersOf = %v, %v; want %s", addrs, err, tc.want)
			}
			if bind == nil {
				t.Fatal("no bind policy")
			}
			if bind.MayBindPrivileged != tc.privileged {
				t.Fatalf("MayBindPrivileged = %v, want %v", bind.MayBindPrivileged, tc.privileged)
			}
			var start string
			if bind.UnprivilegedPortStart != nil {
				start = strconv.Itoa(*bind.UnprivilegedPortStart)
			}
			if start != tc.portStart {
				t.Fatalf("UnprivilegedPortStart = %q, want %q", start, tc.portStart)
			}
		})
	}
}

func TestWASIHostOf(t *testing.T) {
	for host, ok := range map[string]bool{"": true, "go": true, "wasmtime": true, "wamr": false} {
		spec := &specs.Spec{Annotations: map[string]string{AnnotationWASIHost: host}}
		got, err := wasiHostOf(spec)
		if ok != (err == nil) || (ok && got != host) {
			t.Errorf("wasiHostOf(%q) = %q, %v", host, got, err)
		}
		if !ok && (!errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), AnnotationWASIHost)) {
			t.Errorf("wasiHostOf(%q) error %v: want InvalidArgument naming the annotation", host, err)
		}
	}
}

func TestHostTakesListeners(t *testing.T) {
	addrs := []string{"127.0.0.1:8080", "[::1]:8081"}
	for _, host := range []string{"", "go"} {
		if err := hostTakesListeners(host, addrs); err != nil {
			t.Errorf("host %q refused listeners: %v", host, err)
		}
	}
	if err := hostTakesListeners("wasmtime", nil); err != nil {
		t.Errorf("wasmtime without listeners refused: %v", err)
	}
	err := hostTakesListeners("wasmtime", addrs)
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("wasmtime with listeners: %v, want InvalidArgument", err)
	}
	for _, want := range append(addrs, AnnotationWASIHost) {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// The wasi:http address travels unparsed, the last setting winning: only
// the task child knows whether the program listens there.
func TestHTTPProxyAddrOf(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{nil, ""},
		{[]string{"WASMTIME_HTTP_PROXY_SOCKET_ADDR=127.0.0.1:9000"}, "127.0.0.1:9000"},
		{[]string{"WASMTIME_HTTP_PROXY_SOCKET_ADDR=:1", "A=b", "WASMTIME_HTTP_PROXY_SOCKET_ADDR=nope"}, "nope"},
	} {
		if got := httpProxyAddrOf(&specs.Process{Env: tc.env}); got != tc.want {
			t.Errorf("httpProxyAddrOf(%q) = %q, want %q", tc.env, got, tc.want)
		}
	}
}

// The in-flight bound is checked at create: a typo fails the task rather
// than leaving the server at its default unnoticed.
func TestHTTPMaxInFlightOf(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want int
	}{
		{nil, 0},
		{[]string{"WASI_HTTP_MAX_IN_FLIGHT=16"}, 16},
		{[]string{"WASI_HTTP_MAX_IN_FLIGHT=2", "WASI_HTTP_MAX_IN_FLIGHT=8192"}, 8192},
	} {
		got, err := httpMaxInFlightOf(&specs.Process{Env: tc.env})
		if err != nil || got != tc.want {
			t.Errorf("httpMaxInFlightOf(%q) = %d, %v; want %d", tc.env, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "0", "-1", "8193", "16k", " 16"} {
		env := []string{"WASI_HTTP_MAX_IN_FLIGHT=" + bad}
		_, err := httpMaxInFlightOf(&specs.Process{Env: env})
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "WASI_HTTP_MAX_IN_FLIGHT") {
			t.Errorf("httpMaxInFlightOf(%q): %v, want an InvalidArgument error naming the variable", env, err)
		}
	}
}
