package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestNetClient runs the outbound client (examples/net/client, written
// against WasmEdge's socket extension: sock_open, sock_connect, sock_send,
// sock_recv, and sock_getaddrinfo in the -dns build) through ctr with the
// host's network, against a server of the test's own on 127.0.0.1.
func TestNetClient(t *testing.T) {
	needDaemon(t)
	const body = "fetched by a wasm client\n"
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", netPort(t)))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/page" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, body)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	port := l.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		module, url string
		exit        int
		out         string
	}{
		{"/http-get.wasm", fmt.Sprintf("http://127.0.0.1:%d/page", port), 0, body},
		{"/http-get.wasm", fmt.Sprintf("http://127.0.0.1:%d/missing", port), 1, ""},
		{"/http-get-dns.wasm", fmt.Sprintf("http://localhost:%d/page", port), 0, body},
	} {
		t.Run(strings.TrimPrefix(tc.module, "/")+tc.url[strings.LastIndexByte(tc.url, '/'):], func(t *testing.T) {
			needNetImage(t, tc.module)
			a := append([]string{"run", "--rm", "--net-host"}, runFlags()...)
			a = append(a, netImage, containerID(t), tc.module, tc.url)
			out, errOut, exit := runCtr(t, a...)
			if exit != tc.exit || (tc.out != "" && out != tc.out) {
				t.Fatalf("%s %s: exit %d, stdout %q, stderr %q; want exit %d and %q", tc.module, tc.url, exit, out, errOut, tc.exit, tc.out)
			}
		})
	}
}
