package e2e

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/examples/net/nettest"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/hack/privatecontainerd"
)

// The networking example's Go HTTP server for Pods (hack/build-images.sh:
// net-linux.tar, linux/amd64 for CRI's image store), what it answers, and
// the port that examples/k8s/net-deployment.yaml gives it.
const (
	netLinuxImage    = "localhost/wasm/net-linux:latest"
	netLinuxImageTar = "net-linux.tar"
	netHello         = "hello from go\n"
	podNetPort       = "8080"
)

// TestCRIPodIP: a wasm Pod with a network namespace of its own (the CRI
// daemon's bridge network, not the host's) serves HTTP on its Pod IP with
// the listener that WASI_TCP_LISTEN asked the shim for; the host reaches
// it through the bridge. Removing the Pod frees its address and its port
// on the bridge and leaves no shim, mount or cgroup.
func TestCRIPodIP(t *testing.T) {
	cd := startCRIDaemon(t)
	before := privatecontainerd.MountsUnder(cd.Dir)
	cd.importLinuxImage(t, netLinuxImageTar)
	cd.reachPods(t)
	started := time.Now()
	p := cd.runPod(t, "web", false)
	config := p.containerConfig(netLinuxImage, "server", 0, nil, nil, nil)
	config.Envs = []*runtimeapi.KeyValue{{Key: "WASI_TCP_LISTEN", Value: []byte("0.0.0.0:" + podNetPort)}}
	id := p.create(t, config)
	p.start(t, id)
	cd.waitState(t, id, runtimeapi.ContainerState_CONTAINER_RUNNING)

	ip := p.ip(t)
	if !strings.HasPrefix(ip, cd.podNet+".") {
		t.Fatalf("Pod IP %s is not in the CRI network %s.0/24", ip, cd.podNet)
	}
	checkNetServer(t, ip)
	t.Logf("Pod IP %s answered GET /, GET /file and a 1 MiB echo %v after RunPodSandbox (containerd %s)", ip, time.Since(started).Round(time.Millisecond), cd.Version)

	lease := filepath.Join(ipamDir(cd.daemon), criNetwork, ip)
	if _, err := os.Stat(lease); err != nil {
		t.Errorf("host-local's record of the Pod's address: %v", err)
	}
	p.remove(t)
	if _, err := os.Stat(lease); !os.IsNotExist(err) {
		t.Errorf("host-local still holds %s after the Pod's removal: %v", ip, err)
	}
	if ports, _ := os.ReadDir(filepath.Join("/sys/class/net", cd.bridge, "brif")); len(ports) > 0 {
		t.Errorf("the bridge %s still has %d ports after the Pod's removal (the first: %s)", cd.bridge, len(ports), ports[0].Name())
	}
	cd.expectClean(t, before)
}

// checkNetServer checks the Go server at ip: GET / and /file, and 1 MiB
// posted to /echo comes back byte for byte.
func checkNetServer(t *testing.T, ip string) {
	t.Helper()
	base := "http://" + net.JoinHostPort(ip, podNetPort)
	client := &http.Client{Timeout: time.Minute}
	nettest.CheckHello(t, client, base, netHello)
	nettest.CheckFile(t, client, base, []byte(netFile))
	body := nettest.Pattern(1 << 20)
	got, err := nettest.Echo(client, base, body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("POST /echo of %d bytes at %s returned %d bytes that differ", len(body), base, len(got))
	}
}

// importLinuxImage imports an archive of bin/images, made for the node's
// platform, into the CRI namespace.
func (cd *criDaemon) importLinuxImage(t *testing.T, tar string) {
	t.Helper()
	path := filepath.Join(imagesDir(suite.repo), tar)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%v (make images builds it; http-linux.tar: make http-examples)", err)
	}
	if _, errOut, code := cd.ctrCmd(nil, nil, "images", "import", "--platform", nativePlatform, path); code != 0 {
		t.Fatalf("ctr -n %s images import %s: %s", criNamespace, tar, errOut)
	}
}

// ip is the Pod's IP as PodSandboxStatus reports it.
func (p *pod) ip(t *testing.T) string {
	t.Helper()
	resp, err := p.cd.runtime.PodSandboxStatus(criCtx(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: p.id})
	if err != nil {
		t.Fatalf("PodSandboxStatus: %v", err)
	}
	ip := resp.GetStatus().GetNetwork().GetIp()
	if ip == "" {
		t.Fatalf("PodSandboxStatus of %s has no Pod IP: %v", p.config.Metadata.Name, resp.Status)
	}
	return ip
}

// reachPods lets the host reach the Pod IPs: it makes the network's
// bridge before the bridge plugin would (which then takes it as it is)
// with the address .1 on it. The host gains a route to the Pods' /24 and
// nothing else: no forwarding, masquerading or iptables rule, no route
// off the machine. Call it before the daemon runs a Pod of its own
// network; teardown removes the bridge and its address with it.
func (cd *criDaemon) reachPods(t *testing.T) {
	t.Helper()
	_, subnet, err := net.ParseCIDR(cd.podNet + ".0/24")
	if err != nil {
		t.Fatal(err)
	}
	// Another run whose token picked the same /24 would make the route
	// ambiguous.
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && subnet.Contains(ipn.IP) {
			t.Fatalf("the Pod network %v is already on a host interface (%v): is another run using it?", subnet, ipn)
		}
	}
	runIP(t, "link", "add", cd.bridge, "type", "bridge")
	runIP(t, "addr", "add", cd.podNet+".1/24", "dev", cd.bridge)
	runIP(t, "link", "set", cd.bridge, "up")
}

// runIP runs ip(8) with args and fails t if it fails.
func runIP(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}
