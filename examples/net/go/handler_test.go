package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/examples/net/nettest"
)

func TestHandler(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hello.txt")
	content := []byte("hello from the image\n")
	if err := os.WriteFile(file, content, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newHandler(file))
	defer srv.Close()
	nettest.Check(t, srv.URL, nettest.Server{Hello: hello, File: content})
}

func TestMissingFileIs404(t *testing.T) {
	srv := httptest.NewServer(newHandler(filepath.Join(t.TempDir(), "absent")))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/file")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("GET /file of a missing file: %d, want 404", resp.StatusCode)
	}
}

func TestListenFD(t *testing.T) {
	for _, tc := range []struct {
		env     string
		want    int
		wantErr bool
	}{
		{env: "", want: 3},
		{env: "5", want: 5},
		{env: "4,7,9", want: 4},
		{env: "x", wantErr: true},
		{env: "-1", wantErr: true},
		{env: ",4", wantErr: true},
	} {
		got, err := listenFD(tc.env)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("listenFD(%q) = %d, %v; want %d, error %v", tc.env, got, err, tc.want, tc.wantErr)
		}
	}
}
