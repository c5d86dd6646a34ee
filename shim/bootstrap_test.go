package shim

import (
	"bytes"
	"testing"

	bootapi "github.com/containerd/containerd/api/runtime/bootstrap/v1"
	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/v2/pkg/protobuf/proto"
)

func TestStartParamsFromEachProtocol(t *testing.T) {
	f := flags{namespace: "ns", id: "c1", address: "/run/c.sock", debug: false}
	t.Setenv(EnvTTRPCAddress, "/run/c.sock.ttrpc")
	sockDir := "/tmp/s"
	newStdin, err := proto.Marshal(&bootapi.BootstrapParams{
		InstanceID: "c1", Namespace: "ns", LogLevel: bootapi.LogLevel_LOG_LEVEL_DEBUG,
		ContainerdGrpcAddress: "/grpc", ContainerdTtrpcAddress: "/ttrpc", SocketDir: &sockDir,
	})
	if err != nil {
		t.Fatal(err)
	}
	otherID, _ := proto.Marshal(&bootapi.BootstrapParams{InstanceID: "c2", Namespace: "ns"})
	runcOpts, _ := proto.Marshal(&options.Options{BinaryName: "runc"})

	tests := []struct {
		name  string
		stdin []byte
		want  startParams
	}{
		{"1.6-2.2 without options", nil, startParams{id: "c1", namespace: "ns", grpcAddress: "/run/c.sock", ttrpcAddress: "/run/c.sock.ttrpc"}},
		{"1.6-2.2 with runtime options", runcOpts, startParams{id: "c1", namespace: "ns", grpcAddress: "/run/c.sock", ttrpcAddress: "/run/c.sock.ttrpc"}},
		{"bootstrap for another instance", otherID, startParams{id: "c1", namespace: "ns", grpcAddress: "/run/c.sock", ttrpcAddress: "/run/c.sock.ttrpc"}},
		{"2.3+ bootstrap", newStdin, startParams{id: "c1", namespace: "ns", grpcAddress: "/grpc", ttrpcAddress: "/ttrpc", socketDir: "/tmp/s", debug: true, bootstrap: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseStartParams(f, tc.stdin); got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestStartResultMatchesTheProtocol(t *testing.T) {
	var plain bytes.Buffer
	if err := writeStartResult(&plain, startParams{}, "unix:///run/s/x"); err != nil {
		t.Fatal(err)
	}
	if plain.String() != "unix:///run/s/x" {
		t.Fatalf("legacy result = %q, want the bare address", plain.String())
	}
	var b bytes.Buffer
	if err := writeStartResult(&b, startParams{bootstrap: true}, "unix:///run/s/x"); err != nil {
		t.Fatal(err)
	}
	var res bootapi.BootstrapResult
	if err := proto.Unmarshal(b.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Address != "unix:///run/s/x" || res.Protocol != "ttrpc" || res.Version != 3 {
		t.Fatalf("bootstrap result = %+v", &res)
	}
}
