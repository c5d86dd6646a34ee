package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/examples/net/nettest"
)

// The JavaScript wasi:http handler for Pods (hack/build-http-examples.sh:
// http-linux.tar, linux/amd64 for CRI's image store) and its answer to
// GET /; examples/k8s/http-deployment.yaml serves it on podNetPort.
const (
	httpLinuxImageTar = "http-linux.tar"
	httpHello         = "hello from wasi:http\n"
)

// TestKubernetes: a real kubelet (with etcd, kube-apiserver, scheduler and
// controller-manager) drives our containerd through CRI. examples/k8s/
// applies as a user would apply it: the RuntimeClass, a Pod that ends
// Succeeded with its output in kubectl logs, and a Job; a Pod that exits 7
// ends Failed with exit code 7; a Deployment of 3 long-running wasm Pods
// becomes Available and scales to 0; net-deployment.yaml's two HTTP servers
// and http-deployment.yaml's two wasi:http handlers become ready (the
// kubelet's probes reach their Pod IPs), answer on their Pod IPs from the
// host and are their Service's endpoints; deleting every Pod leaves no shim.
func TestKubernetes(t *testing.T) {
	needK8s(t)
	cgroupRoot := kubeletCgroupRoot(t)
	cd := startCRIDaemon(t)
	cd.importLinuxImage(t, netLinuxImageTar)
	cd.importLinuxImage(t, httpLinuxImageTar)
	cd.reachPods(t)
	c := startCluster(t, cd.Address, cgroupRoot)
	c.joinPodNetwork(cd)
	examples := filepath.Join(suite.repo, "examples", "k8s")

	c.mustKubectl("apply", "-f", filepath.Join(examples, "runtimeclass.yaml"), "-f", filepath.Join(examples, "pod.yaml"))
	c.waitPodPhase("wasm-hello", "Succeeded", 2*time.Minute)
	logs := c.mustKubectl("logs", "wasm-hello")
	if !hasLine(logs, "Hello from WebAssembly!") || !hasLine(logs, "args: from kubernetes") {
		t.Errorf("kubectl logs wasm-hello = %q, want the greeting and its args", logs)
	}

	c.mustKubectl("apply", "-f", filepath.Join(examples, "job.yaml"))
	c.mustKubectl("wait", "--for=condition=Complete", "job/wasm-hello", "--timeout=3m")

	c.applyManifest("exit7.yaml", fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: wasm-exit7
spec:
  runtimeClassName: wasm
  restartPolicy: Never
  containers:
    - name: exit7
      image: %s
      imagePullPolicy: Never
      command: [%q, "exit", "7"]
`, criImage, demoModule))
	c.waitPodPhase("wasm-exit7", "Failed", 2*time.Minute)
	code := c.mustKubectl("get", "pod", "wasm-exit7", "-o", "jsonpath={.status.containerStatuses[0].state.terminated.exitCode}")
	if strings.TrimSpace(code) != "7" {
		t.Errorf("wasm-exit7 terminated with exit code %q, want 7", code)
	}

	c.applyManifest("deployment.yaml", fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: wasm-idle
spec:
  replicas: 3
  selector:
    matchLabels: {app: wasm-idle}
  template:
    metadata:
      labels: {app: wasm-idle}
    spec:
      runtimeClassName: wasm
      terminationGracePeriodSeconds: 5
      containers:
        - name: idle
          image: %s
          imagePullPolicy: Never
          command: [%q, "sleep", "3600"]
`, criImage, demoModule))
	start := time.Now()
	c.mustKubectl("wait", "--for=condition=Available", "deployment/wasm-idle", "--timeout=3m")
	ready := c.mustKubectl("get", "deployment", "wasm-idle", "-o", "jsonpath={.status.readyReplicas}")
	if strings.TrimSpace(ready) != "3" {
		t.Errorf("deployment wasm-idle has %q ready replicas, want 3", ready)
	}
	t.Logf("3 replicas Available in %v", time.Since(start).Round(time.Millisecond))
	c.mustKubectl("scale", "deployment/wasm-idle", "--replicas=0")
	c.waitNoPods("app=wasm-idle", 2*time.Minute)

	testServerDeployment(t, c, filepath.Join(examples, "net-deployment.yaml"), "wasm-net", checkNetServer)
	testServerDeployment(t, c, filepath.Join(examples, "http-deployment.yaml"), "wasm-http", checkHTTPHandler)

	c.mustKubectl("delete", "pod", "--all", "--wait=true", "--timeout=2m")
	c.mustKubectl("delete", "job", "--all", "--wait=true", "--timeout=2m")
	c.waitNoPods("", 2*time.Minute)
	// The kubelet removes the sandboxes of deleted Pods in its garbage
	// collection, once a minute; each removal ends a shim.
	deadline := time.Now().Add(3 * time.Minute)
	for cd.shims() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Second)
	}
	if n := cd.shims(); n > 0 {
		t.Errorf("%d shims left after every Pod was deleted", n)
	}
}

func (c *cluster) mustKubectl(args ...string) string {
	c.t.Helper()
	out, err := c.kubectl(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// applyManifest writes a manifest of the test's own and applies it.
func (c *cluster) applyManifest(name, manifest string) {
	c.t.Helper()
	path := filepath.Join(c.dir, name)
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.mustKubectl("apply", "-f", path)
}

// waitPodPhase waits until the Pod reaches phase, failing at once if it
// settles in the other terminal phase.
func (c *cluster) waitPodPhase(pod, phase string, timeout time.Duration) {
	c.t.Helper()
	var last string
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(time.Second) {
		c.checkAlive()
		out, err := c.kubectl("get", "pod", pod, "-o", "jsonpath={.status.phase}")
		last = strings.TrimSpace(out)
		if err != nil {
			last = err.Error()
		}
		if last == phase {
			return
		}
		if (last == "Succeeded" || last == "Failed") && last != phase {
			break
		}
	}
	desc, _ := c.kubectl("describe", "pod", pod)
	c.t.Fatalf("pod %s is %s, want %s:\n%s", pod, last, phase, desc)
}

// waitNoPods waits until no Pod matches selector ("" for all).
func (c *cluster) waitNoPods(selector string, timeout time.Duration) {
	c.t.Helper()
	args := []string{"get", "pods", "-o", "name"}
	if selector != "" {
		args = append(args, "-l", selector)
	}
	var last string
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(time.Second) {
		out, err := c.kubectl(args...)
		if err == nil && strings.TrimSpace(out) == "" {
			return
		}
		last = out
	}
	c.t.Fatalf("pods still there after %v: %s", timeout, last)
}

// testServerDeployment applies a manifest of a Deployment named app of two
// server Pods (label app=APP) and a Service of the same name: once
// Available (the kubelet's readiness probes reached both Pods), check
// passes against each Pod IP from the host, and the Service's endpoints are
// those Pods. Its ClusterIP would need kube-proxy, which this node does not
// run.
func testServerDeployment(t *testing.T, c *cluster, manifest, app string, check func(t *testing.T, ip string)) {
	start := time.Now()
	c.mustKubectl("apply", "-f", manifest)
	c.mustKubectl("wait", "--for=condition=Available", "deployment/"+app, "--timeout=3m")
	t.Logf("2 %s replicas Ready in %v", app, time.Since(start).Round(time.Millisecond))
	ips := strings.Fields(c.mustKubectl("get", "pods", "-l", "app="+app, "-o", "jsonpath={.items[*].status.podIP}"))
	if len(ips) != 2 {
		t.Fatalf("%s Pod IPs %q, want 2", app, ips)
	}
	for _, ip := range ips {
		check(t, ip)
	}
	sort.Strings(ips)
	var endpoints []string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		endpoints = strings.Fields(c.mustKubectl("get", "endpointslices", "-l", "kubernetes.io/service-name="+app,
			"-o", `jsonpath={.items[*].endpoints[?(@.conditions.ready==true)].addresses[*]}`))
		sort.Strings(endpoints)
		if slices.Equal(endpoints, ips) {
			break
		}
	}
	if !slices.Equal(endpoints, ips) {
		t.Errorf("service %s has ready endpoints %q, want the Pod IPs %q", app, endpoints, ips)
	}
	c.mustKubectl("delete", "-f", manifest, "--wait=true", "--timeout=2m")
	c.waitNoPods("app="+app, 2*time.Minute)
}

// checkHTTPHandler: the JavaScript wasi:http handler of http-linux.tar
// answers on the Pod IP: GET / with its greeting and header, GET /headers
// with the request line and a header sent, and a 1 MiB echo byte for byte.
func checkHTTPHandler(t *testing.T, ip string) {
	t.Helper()
	base := "http://" + net.JoinHostPort(ip, podNetPort)
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("GET %s/: %v", base, err)
	}
	if resp.StatusCode != http.StatusOK || string(body) != httpHello {
		t.Fatalf("GET %s/: %d %q, want 200 %q", base, resp.StatusCode, body, httpHello)
	}
	if got := resp.Header.Get("X-Wasi-Http-Example"); got != "http-js incoming-handler" {
		t.Errorf("GET %s/: X-Wasi-Http-Example %q, want the incoming-handler form's", base, got)
	}
	req, err := http.NewRequest("GET", base+"/headers?from=kubernetes", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Check", "pod ip")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("GET %s/headers: %v", base, err)
	}
	if resp.StatusCode != http.StatusOK || !hasLine(string(body), "GET /headers?from=kubernetes") || !hasLine(strings.ToLower(string(body)), "x-check: pod ip") {
		t.Errorf("GET %s/headers: %d %q, want 200 with the request line and x-check", base, resp.StatusCode, body)
	}
	in := nettest.Pattern(1 << 20)
	got, err := nettest.Echo(client, base, in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, in) {
		t.Fatalf("POST /echo of %d bytes at %s returned %d bytes that differ", len(in), base, len(got))
	}
}
