package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKubernetesRegistryPull: the kubelet (RuntimeClassInImageCriApi on)
// pulls the images of criPullCases from the suite's registry on
// 127.0.0.1, which containerd reaches from the host's network while the
// cluster runs in a namespace of its own, with imagePullPolicy Always: an
// image that the daemon takes ends Succeeded with its output in kubectl
// logs, one it refuses (README's table) waits in ErrImagePull or
// ImagePullBackOff with the daemon's reason.
func TestKubernetesRegistryPull(t *testing.T) {
	needK8s(t)
	cgroupRoot := kubeletCgroupRoot(t)
	cd := startCRIDaemon(t)
	reg := startRegistry(t)
	c := startCluster(t, cd.Address, cgroupRoot)
	c.mustKubectl("apply", "-f", filepath.Join(suite.repo, "examples", "k8s", "runtimeclass.yaml"))
	data := filepath.Join(t.TempDir(), "hello.txt")
	if err := os.WriteFile(data, []byte("hello from the registry\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range criPullCases {
		ref := reg.ref("wasm/k8s-pull-" + tc.name + "-" + cd.token + ":v1")
		wasmImage(t, append(tc.args, "-push", "-ref", ref, "-entrypoint", demoModule,
			example("wasi-demo.wasm")+":"+demoModule, data+":/data/hello.txt")...)
		c.applyManifest(tc.name+".yaml", fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: pull-%s
spec:
  runtimeClassName: wasm
  restartPolicy: Never
  hostNetwork: true
  automountServiceAccountToken: false
  tolerations: [{operator: Exists}]
  containers:
    - name: app
      image: %s
      imagePullPolicy: Always
      args: ["read", "/data/hello.txt"]
`, tc.name, ref))
	}
	for _, tc := range criPullCases {
		pod := "pull-" + tc.name
		if want := tc.pullFails(cd.Version); want != "" {
			c.waitPullError(pod, want, 2*time.Minute)
			continue
		}
		c.waitPodPhase(pod, "Succeeded", 2*time.Minute)
		if logs := c.mustKubectl("logs", pod); !hasLine(logs, "hello from the registry") {
			t.Errorf("kubectl logs %s = %q, want the file's line", pod, logs)
		}
	}
}

// waitPullError waits until the Pod's container waits on a failed pull
// whose message holds want.
func (c *cluster) waitPullError(pod, want string, timeout time.Duration) {
	c.t.Helper()
	var last string
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(time.Second) {
		c.checkAlive()
		out, err := c.kubectl("get", "pod", pod, "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}|{.status.containerStatuses[0].state.waiting.message}")
		last = strings.TrimSpace(out)
		if err != nil {
			last = err.Error()
		}
		reason, msg, _ := strings.Cut(last, "|")
		if (reason == "ErrImagePull" || reason == "ImagePullBackOff") && strings.Contains(msg, want) {
			return
		}
		if phase, _ := c.kubectl("get", "pod", pod, "-o", "jsonpath={.status.phase}"); strings.TrimSpace(phase) == "Succeeded" {
			c.t.Errorf("pod %s Succeeded, want a pull error %q (README: update the table)", pod, want)
			return
		}
	}
	desc, _ := c.kubectl("describe", "pod", pod)
	c.t.Errorf("pod %s: %s, want a pull error %q:\n%s", pod, last, want, desc)
}
