package e2e

import (
	"path/filepath"
	"testing"
)

// TestCRIComponentBesideModule: a WASI 0.2 component and a core module run
// side by side as two containers of one Pod, through CRI, on the Pod's one
// shim, each with its own output and exit.
func TestCRIComponentBesideModule(t *testing.T) {
	needComponents(t)
	cd := startCRIDaemon(t)
	// A Pod's image needs the node's platform (see README, Kubernetes).
	ref := "localhost/wasm/e2e-pod-components-" + cd.token + ":v1"
	tar := filepath.Join(t.TempDir(), "pod-components.tar")
	wasmImage(t, "-platform", nativePlatform, "-o", tar, "-ref", ref, "-entrypoint", componentDemo,
		example("components"+componentDemo)+":"+componentDemo, example("hello.wasm")+":"+helloModule)
	if _, errOut, code := cd.ctrCmd(nil, nil, "images", "import", "--platform", nativePlatform, tar); code != 0 {
		t.Fatalf("ctr -n %s images import: %s", criNamespace, errOut)
	}
	p := cd.runPod(t, "components", true)
	component := p.containerOf(t, ref, "component", 0, []string{componentDemo}, []string{"args", "from", "pod"}, nil)
	module := p.containerOf(t, ref, "module", 0, []string{helloModule}, []string{"beside"}, nil)
	p.start(t, component, module)
	lines := readLog(t, cd.expectExit(t, component, 0, "Completed"))
	for _, want := range []string{"stdout: argv[1]=args", "stdout: argv[2]=from", "stdout: argv[3]=pod"} {
		expectLogLine(t, lines, want)
	}
	lines = readLog(t, cd.expectExit(t, module, 0, "Completed"))
	expectLogLine(t, lines, "stdout: "+helloGreeting)
	expectLogLine(t, lines, "stdout: args: beside")
	if n := cd.shims(); n != 1 {
		t.Errorf("%d shims serve the Pod, want 1", n)
	}
}
