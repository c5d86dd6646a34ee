package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCRIWasmLayerImage: CRI runs a wasm-layer image (each file its own
// layer, of the component layer media type for the module): its image
// store takes the image, the unpacker skips the layers that are not tars,
// and the shim places them from the content store.
func TestCRIWasmLayerImage(t *testing.T) {
	cd := startCRIDaemon(t)
	// A Pod's image needs the node's platform (see README, Kubernetes).
	ref := "localhost/wasm/e2e-pod-layers-" + cd.token + ":v1"
	tar := filepath.Join(t.TempDir(), "pod-layers.tar")
	data := filepath.Join(t.TempDir(), "hello.txt")
	if err := os.WriteFile(data, []byte("hello from a layer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wasmImage(t, "-shape", "wasm", "-layer-type", layerComponent, "-platform", nativePlatform,
		"-o", tar, "-ref", ref, "-entrypoint", demoModule,
		example("wasi-demo.wasm")+":"+demoModule, data+":/data/hello.txt")
	out, errOut, code := cd.ctrCmd(nil, nil, "images", "import", "--platform", nativePlatform, tar)
	if code != 0 {
		skipOldCtr(t, true, out+errOut)
		t.Fatalf("ctr -n %s images import: %s", criNamespace, errOut)
	}
	p := cd.runPod(t, "layers", true)
	id := p.containerOf(t, ref, "layers", 0, nil, []string{"read", "/data/hello.txt"}, nil)
	p.start(t, id)
	expectLogLine(t, readLog(t, cd.expectExit(t, id, 0, "Completed")), "stdout: hello from a layer")
}
