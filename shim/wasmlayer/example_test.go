package wasmlayer_test

import (
	"context"
	"log"

	"github.com/containerd/containerd/v2/pkg/namespaces"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/wasmlayer"
)

// At Create, before args[0] is resolved, the shim places the wasm layers
// of the container's image in its rootfs; at Delete it takes them out.
// (Not run by go test: it needs a containerd that knows the container.)
func ExamplePlace() {
	ctx := namespaces.WithNamespace(context.Background(), "default")
	proc := &specs.Process{Args: []string{"/app.wasm"}, Cwd: "/"}
	placed, err := wasmlayer.Place(ctx, "/run/containerd/containerd.sock", "my-container", "/run/bundle/rootfs", proc)
	if err != nil {
		log.Fatal(err) // a layer that is not wasm, args[0] naming no layer...
	}
	defer placed.Remove(ctx)
	// ... run the task: args[0] names a file of the rootfs now.
}
