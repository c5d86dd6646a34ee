package listen

import (
	"net"
	"os"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{in: "0.0.0.0:8080", want: []string{"0.0.0.0:8080"}},
		{in: "127.0.0.1:80, [::1]:8443", want: []string{"127.0.0.1:80", "[::1]:8443"}},
		{in: ":8080", want: []string{":8080"}},
		{in: "localhost:9000", want: []string{"127.0.0.1:9000"}},
		{in: "[::ffff:127.0.0.1]:9000", want: []string{"127.0.0.1:9000"}},
		{in: "", err: "an empty address"},
		{in: "8080", err: `address "8080": want host:port`},
		{in: "0.0.0.0:0", err: "not a number from 1 to 65535"},
		{in: "0.0.0.0:65536", err: "not a number from 1 to 65535"},
		{in: "0.0.0.0:http", err: "not a number from 1 to 65535"},
		{in: "example.com:80", err: "is not an IP address"},
		{in: "[fe80::1%eth0]:80", err: "is not an IP address"},
		{in: "127.0.0.1:80,", err: "an empty address"},
		{in: "127.0.0.1:80,localhost:80", err: "127.0.0.1:80 is listed twice"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), Env) {
					t.Fatalf("Parse(%q) = %v, %v; want an error naming %s with %q", tc.in, got, err, Env, tc.err)
				}
				return
			}
			if err != nil || strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestOpenListens(t *testing.T) {
	addrs := []string{freeAddr(t), freeAddr(t)}
	files, err := Open(addrs, Options{UnprivilegedPortStart: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(files)
	for i, f := range files {
		l, err := net.FileListener(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", addrs[i])
		if err != nil {
			t.Fatalf("dial %s: %v", addrs[i], err)
		}
		s, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		c.Close()
		l.Close()
	}
}

// An address in use fails with its name, and the listeners opened before
// it are closed again.
func TestOpenInUseClosesTheRest(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	first := freeAddr(t)
	_, err = Open([]string{first, busy.Addr().String()}, Options{UnprivilegedPortStart: 1024})
	if err == nil || !strings.Contains(err.Error(), busy.Addr().String()) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Open = %v, want address already in use naming %s", err, busy.Addr())
	}
	l, err := net.Listen("tcp", first)
	if err != nil {
		t.Fatalf("the first listener was left open: %v", err)
	}
	l.Close()
}

func TestOpenChecksPrivilegedPorts(t *testing.T) {
	_, err := Open([]string{"127.0.0.1:80"}, Options{UnprivilegedPortStart: 1024})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:80: permission denied") {
		t.Fatalf("Open = %v, want permission denied", err)
	}
	// The namespace's own start counts, not 1024.
	if err := checkPort("127.0.0.1:80", Options{UnprivilegedPortStart: 80}); err != nil {
		t.Fatal(err)
	}
	if err := checkPort("127.0.0.1:80", Options{UnprivilegedPortStart: 1024, MayBindPrivileged: true}); err != nil {
		t.Fatal(err)
	}
}

func TestReadUnprivilegedPortStart(t *testing.T) {
	n, err := ReadUnprivilegedPortStart()
	if err != nil || n < 0 || n > 65536 {
		t.Fatalf("ReadUnprivilegedPortStart = %d, %v", n, err)
	}
	if _, err := os.Stat("/proc/sys/net/ipv4/ip_unprivileged_port_start"); err != nil && n != 1024 {
		t.Fatalf("without the sysctl the start is 1024, got %d", n)
	}
}

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: DefaultHTTPProxyAddr, want: "0.0.0.0:8080"},
		{in: " localhost:8080 ", want: "127.0.0.1:8080"},
		{in: "[::]:80", want: "[::]:80"},
		{in: "", err: "an empty address"},
		{in: "8080", err: "want host:port"},
		{in: "127.0.0.1:80,127.0.0.1:81", err: "port"},
		{in: "example.com:80", err: "is not an IP address"},
	} {
		got, err := ParseAddr(HTTPProxyEnv, tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), HTTPProxyEnv+"=") {
				t.Errorf("ParseAddr(%q) = %q, %v; want an error naming %s with %q", tc.in, got, err, HTTPProxyEnv, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseAddr(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
