package e2e

import (
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// testCRIRuntimeOptions: a runtime handler's options reach the shim
// through CRI (a file's path on 1.6, the table itself on 2.x): the Pod's
// sandbox, a native container, runs through the runc they name, and a
// wasm container beside it runs as usual.
func testCRIRuntimeOptions(t *testing.T, cd *criDaemon) {
	p := cd.runPodOf(t, criOptionsHandler, "options", true, runtimeapi.NamespaceMode_CONTAINER)
	wasm := p.containerOf(t, helloLinuxImage, "wasm", 0, nil, []string{"with", "options"}, nil)
	p.start(t, wasm)
	st := cd.expectExit(t, wasm, 0, "Completed")
	expectLogLine(t, readLog(t, st), "stdout: args: with options")
	for _, cmd := range []string{"create", "start"} {
		if !strings.Contains(cd.runc.callsOf(), " "+cmd+" ") {
			t.Errorf("the sandbox's runc was not run as %s through the handler's BinaryName; its calls:\n%s", cmd, cd.runc.callsOf())
		}
	}
	p.remove(t)
	if !strings.Contains(cd.runc.callsOf(), " delete ") {
		t.Errorf("the sandbox's runc delete did not go through the handler's BinaryName; its calls:\n%s", cd.runc.callsOf())
	}
}
