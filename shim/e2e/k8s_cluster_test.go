package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/hack/privatecontainerd"
)

// k8sVersion is the Kubernetes that hack/install-k8s.sh builds.
const k8sVersion = "1.36.3"

// The cluster lives in a network namespace of its own, where nodeIP is an
// address of the loopback device: the kubelet refuses a loopback node IP,
// and nothing is exposed on the host. The ports are below 32768, away from
// the ephemeral range where containerd's CRI streaming server listens.
const (
	nodeIP        = "192.0.2.1"
	apiserverPort = 16443
	etcdPort      = 12379
	etcdPeerPort  = 12380
	nodeName      = "wasm-e2e-node"
)

// cluster is a single-node Kubernetes whose kubelet drives a CRI endpoint:
// etcd, kube-apiserver, kube-scheduler, kube-controller-manager and the
// kubelet, each started by pid and stopped by pid.
type cluster struct {
	t          *testing.T
	dir        string
	bin        string
	netns      string
	cgroupRoot string // the kubelet's cgroup root, named for this run
	kubeconfig string
	podLogsDir string
	procs      []*clusterProc
}

type clusterProc struct {
	name   string
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
}

// k8sBinDir is where hack/install-k8s.sh puts the cluster's binaries.
func k8sBinDir(repo string) string {
	return filepath.Join(repo, "bin", "k8s-"+k8sVersion)
}

// needK8s skips t unless E2E_K8S is set (make test-k8s sets it): the
// cluster takes a minute to start and its build half an hour. With it set, a
// missing binary is a failure.
func needK8s(t *testing.T) string {
	t.Helper()
	if suite.skip != "" {
		t.Skip(suite.skip)
	}
	if os.Getenv("E2E_K8S") == "" {
		t.Skip("E2E_K8S is not set (make test-k8s runs this test)")
	}
	bin := k8sBinDir(suite.repo)
	for _, name := range []string{"etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "kubelet", "kubectl"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			t.Fatalf("%s is missing (hack/install-k8s.sh builds it)", filepath.Join(bin, name))
		}
	}
	for _, tool := range []string{"ip", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: %v", tool, err)
		}
	}
	return bin
}

// kubeletCgroupRoot creates a cgroup root for a kubelet in every
// hierarchy (the kubelet refuses a root that does not exist) and removes
// it when t ends. Named for the run, what the kubelet leaves is found;
// call it before starting the containerd whose containers live under it,
// so that the removal comes after that containerd has stopped them.
func kubeletCgroupRoot(t *testing.T) string {
	t.Helper()
	name := "wasm-k8s-" + randomHex(4)
	t.Cleanup(func() {
		for _, dir := range cgroupDirsNamed(name) {
			removeCgroupTree(dir)
		}
		if left := cgroupDirsNamed(name); len(left) > 0 {
			t.Errorf("cgroups left behind: %v", left)
		}
	})
	if err := makeCgroupRoot(name); err != nil {
		t.Fatalf("cgroup root: %v", err)
	}
	return name
}

// startCluster brings up a node whose kubelet uses the CRI socket
// criSocket and the cgroup root of kubeletCgroupRoot, and tears it down
// when t ends: processes, the kubelet's mounts, the network namespace.
func startCluster(t *testing.T, criSocket, cgroupRoot string) *cluster {
	t.Helper()
	bin := needK8s(t)
	c := &cluster{
		t:          t,
		dir:        t.TempDir(),
		bin:        bin,
		netns:      "wasm-k8s-" + randomHex(4),
		cgroupRoot: cgroupRoot,
	}
	c.podLogsDir = filepath.Join(c.dir, "pod-logs")
	t.Cleanup(c.stop)
	if err := c.setupNetns(); err != nil {
		t.Fatalf("network namespace: %v", err)
	}
	if err := c.writeCredentials(); err != nil {
		t.Fatalf("credentials: %v", err)
	}
	c.start("etcd", filepath.Join(bin, "etcd"),
		"--name", "e2e", "--data-dir", filepath.Join(c.dir, "etcd"),
		"--listen-client-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdPort),
		"--advertise-client-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdPort),
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdPeerPort),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdPeerPort),
		"--initial-cluster", fmt.Sprintf("e2e=http://127.0.0.1:%d", etcdPeerPort),
		"--listen-metrics-urls", "")
	c.start("kube-apiserver", filepath.Join(bin, "kube-apiserver"),
		"--etcd-servers", fmt.Sprintf("http://127.0.0.1:%d", etcdPort),
		"--bind-address", nodeIP, "--advertise-address", nodeIP,
		"--secure-port", fmt.Sprint(apiserverPort),
		"--cert-dir", filepath.Join(c.dir, "apiserver-pki"),
		"--token-auth-file", filepath.Join(c.dir, "tokens.csv"),
		"--authorization-mode", "AlwaysAllow",
		"--service-account-key-file", filepath.Join(c.dir, "sa.pub"),
		"--service-account-signing-key-file", filepath.Join(c.dir, "sa.key"),
		"--service-account-issuer", "https://kubernetes.default.svc",
		// Without these two, Pods would need service account tokens
		// and a node-lifecycle controller to lift the not-ready taint.
		"--disable-admission-plugins", "ServiceAccount,TaintNodesByCondition",
		"--kubelet-preferred-address-types", "InternalIP",
		"--service-cluster-ip-range", "10.96.0.0/24")
	c.waitAPIServer(2 * time.Minute)
	c.start("kube-scheduler", filepath.Join(bin, "kube-scheduler"),
		"--kubeconfig", c.kubeconfig, "--leader-elect=false",
		"--bind-address", "127.0.0.1")
	c.start("kube-controller-manager", filepath.Join(bin, "kube-controller-manager"),
		"--kubeconfig", c.kubeconfig, "--leader-elect=false",
		"--controllers", "deployment,replicaset,garbagecollector,job,endpointslice",
		"--bind-address", "127.0.0.1")
	if err := c.writeKubeletConfig(criSocket); err != nil {
		t.Fatalf("kubelet config: %v", err)
	}
	c.start("kubelet", filepath.Join(bin, "kubelet"),
		"--config", filepath.Join(c.dir, "kubelet.yaml"),
		"--kubeconfig", c.kubeconfig,
		"--root-dir", filepath.Join(c.dir, "kubelet"),
		"--cert-dir", filepath.Join(c.dir, "kubelet-pki"),
		"--node-ip", nodeIP, "--hostname-override", nodeName)
	c.waitNodeReady(2 * time.Minute)
	return c
}

// setupNetns creates the cluster's network namespace with lo up and the
// node's address on it.
func (c *cluster) setupNetns() error {
	for _, args := range [][]string{
		{"netns", "add", c.netns},
		{"-n", c.netns, "link", "set", "lo", "up"},
		{"-n", c.netns, "addr", "add", nodeIP + "/32", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// joinPodNetwork plugs the cluster's namespace into the Pod network of
// cd (its bridge is in the host's namespace, where containerd runs CNI)
// with a veth pair, and gives its end the address .254 that host-local
// never hands out (criDaemon.podNet): the kubelet, whose probes connect
// from this namespace, reaches the Pod IPs on the link, nothing routed.
// Removing either end removes the pair.
func (c *cluster) joinPodNetwork(cd *criDaemon) {
	c.t.Helper()
	const inside = "pods0"
	host := "vk" + cd.token
	runIP(c.t, "link", "add", host, "type", "veth", "peer", "name", inside, "netns", c.netns)
	c.t.Cleanup(func() {
		if _, err := net.InterfaceByName(host); err == nil {
			if out, err := exec.Command("ip", "link", "del", host).CombinedOutput(); err != nil {
				c.t.Errorf("ip link del %s: %v: %s", host, err, out)
			}
		}
	})
	runIP(c.t, "link", "set", host, "master", cd.bridge, "up")
	runIP(c.t, "-n", c.netns, "addr", "add", cd.podNet+".254/24", "dev", inside)
	runIP(c.t, "-n", c.netns, "link", "set", inside, "up")
}

// makeCgroupRoot creates the cgroup name in every hierarchy.
func makeCgroupRoot(name string) error {
	hierarchies, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return err
	}
	for _, h := range hierarchies {
		dir := filepath.Join("/sys/fs/cgroup", h.Name(), name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if h.Name() == "cpuset" {
			// A v1 cpuset starts empty and takes no task until given
			// the parent's CPUs and memory nodes.
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				v, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpuset", f))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(dir, f), v, 0o644); err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
			}
		}
	}
	return nil
}

// writeCredentials writes the apiserver's token file and service account
// key pair, and an admin kubeconfig that uses the token.
func (c *cluster) writeCredentials() error {
	token := randomHex(16)
	if err := os.WriteFile(filepath.Join(c.dir, "tokens.csv"),
		[]byte(token+`,admin,admin,"system:masters"`+"\n"), 0o600); err != nil {
		return err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.dir, "sa.key"),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.dir, "sa.pub"),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return err
	}
	c.kubeconfig = filepath.Join(c.dir, "kubeconfig")
	return os.WriteFile(c.kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: https://%s:%d
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: %s
contexts:
- name: e2e
  context: {cluster: e2e, user: admin}
current-context: e2e
`, nodeIP, apiserverPort, token)), 0o600)
}

// writeKubeletConfig: cgroupfs under the run's cgroup root, cgroup v1
// allowed, swap tolerated, the apiserver let in anonymously (for logs),
// eviction thresholds low enough that a busy disk evicts nothing, and
// RuntimeClassInImageCriApi, so that a pull names the Pod's runtime
// handler as README recommends.
func (c *cluster) writeKubeletConfig(criSocket string) error {
	cfg := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %s
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
cgroupRoot: /%s
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://%s
podLogsDirectory: %s
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1%%"
  nodefs.inodesFree: "1%%"
  imagefs.available: "1%%"
featureGates:
  RuntimeClassInImageCriApi: true
`, nodeIP, c.cgroupRoot, criSocket, c.podLogsDir)
	return os.WriteFile(filepath.Join(c.dir, "kubelet.yaml"), []byte(cfg), 0o644)
}

// start runs a component inside the cluster's network namespace with its
// output in a log file of its own.
func (c *cluster) start(name, path string, args ...string) {
	c.t.Helper()
	logPath := filepath.Join(c.dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		c.t.Fatal(err)
	}
	defer logFile.Close()
	// nsenter, unlike `ip netns exec`, leaves /sys (and so the cgroup
	// mounts) as they are.
	cmd := exec.Command("nsenter", append([]string{"--net=/run/netns/" + c.netns, "--", path}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", name, err)
	}
	p := &clusterProc{name: name, cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	c.procs = append(c.procs, p)
}

// kubectl runs kubectl against the cluster from inside its namespace.
func (c *cluster) kubectl(args ...string) (string, error) {
	full := append([]string{"--net=/run/netns/" + c.netns, "--", filepath.Join(c.bin, "kubectl"), "--kubeconfig", c.kubeconfig}, args...)
	var stdout, stderr strings.Builder
	cmd := exec.Command("nsenter", full...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// waitAPIServer polls /readyz through kubectl until it answers ok.
func (c *cluster) waitAPIServer(timeout time.Duration) {
	c.t.Helper()
	var last error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		c.checkAlive()
		out, err := c.kubectl("get", "--raw", "/readyz")
		if err == nil && strings.TrimSpace(out) == "ok" {
			return
		}
		last = err
	}
	c.t.Fatalf("kube-apiserver not ready within %v: %v", timeout, last)
}

// waitNodeReady waits until the node reports Ready.
func (c *cluster) waitNodeReady(timeout time.Duration) {
	c.t.Helper()
	var last string
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(time.Second) {
		c.checkAlive()
		out, err := c.kubectl("get", "node", nodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err == nil && strings.TrimSpace(out) == "True" {
			return
		}
		last = out
		if err != nil {
			last = err.Error()
		}
	}
	c.t.Fatalf("node %s not Ready within %v: %s", nodeName, timeout, last)
}

// checkAlive fails the test with its log if a component has exited.
func (c *cluster) checkAlive() {
	c.t.Helper()
	for _, p := range c.procs {
		select {
		case <-p.exited:
			c.t.Fatalf("%s exited: %v\n%s", p.name, p.cmd.ProcessState, tail(p.log, 40))
		default:
		}
	}
}

// stop ends the components, newest first, by pid; then removes the
// kubelet's mounts and the network namespace.
func (c *cluster) stop() {
	t := c.t
	if t.Failed() {
		for _, p := range c.procs {
			t.Logf("%s log (end):\n%s", p.name, tail(p.log, 30))
		}
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		privatecontainerd.Terminate(c.procs[i].cmd.Process, c.procs[i].exited, privatecontainerd.TerminateGrace)
	}
	for _, m := range privatecontainerd.MountsUnder(c.dir) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", m, err)
		}
	}
	if out, err := exec.Command("ip", "netns", "del", c.netns).CombinedOutput(); err != nil {
		t.Errorf("ip netns del %s: %v: %s", c.netns, err, out)
	}
}

// tail is the last n lines of a log file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	ls := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
