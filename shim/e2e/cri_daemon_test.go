package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/hack/containerdconfig"
)

const (
	// criHandler is the runtime handler that a RuntimeClass names.
	criHandler = "wasm"
	// criOptionsHandler is the same runtime with options: BinaryName
	// names a runc wrapper that records its calls (criDaemon.runc).
	criOptionsHandler = "wasm-runc-option"
	pauseImage        = "localhost/wasm/pause:latest"
	criNamespace      = "k8s.io"
	cniBinDir         = "/usr/lib/cni" // Debian's containernetworking-plugins
	criNetwork        = "wasm-e2e"     // the CNI network of every CRI daemon
)

// criDaemon is a private containerd with the CRI plugin on: the runtime
// handler "wasm" maps to our shim, the sandbox image is the locally built
// pause image, and CNI reads a conf dir of the daemon's own.
type criDaemon struct {
	*daemon
	conn    *grpc.ClientConn
	runtime runtimeapi.RuntimeServiceClient
	images  runtimeapi.ImageServiceClient
	// cgroupParent holds every Pod's cgroups, so that leftovers are easy
	// to find and teardown removes them.
	cgroupParent string
	cniConfDir   string
	logDir       string
	// bridge is the host's bridge of the CNI network, which the bridge
	// plugin never removes; teardown does.
	bridge string
	// podNet is the first three octets of the network's /24: Pods get
	// .2 to .200; .1, the gateway that host-local never hands out, and
	// .254 are left for the test's own ends (reachPods).
	podNet string
	// runc is the runc wrapper of criOptionsHandler.
	runc runcWrapper
}

// startCRIDaemon starts a CRI daemon for t, imports the pause and native
// images into k8s.io, and stops everything when t ends.
func startCRIDaemon(t *testing.T) *criDaemon {
	t.Helper()
	if suite.skip != "" {
		t.Skip(suite.skip)
	}
	if _, err := os.Stat(filepath.Join(cniBinDir, "loopback")); err != nil {
		t.Skipf("CNI plugins missing (apt-get install containernetworking-plugins): %v", err)
	}
	cd := &criDaemon{}
	d, err := startDaemonWith(suite.repo, daemonVersion(), cd.config, func(d *daemon) {
		d.ns = criNamespace
		d.cgroupName = "wasmcri-" + d.token
		cd.cgroupParent = "/" + d.cgroupName
		cd.cniConfDir = filepath.Join(d.Dir, "cni")
		cd.logDir = filepath.Join(d.Dir, "podlogs")
		cd.bridge = "wb" + d.token
	})
	cd.daemon = d
	if d != nil {
		t.Cleanup(func() {
			if cd.conn != nil {
				cd.conn.Close()
			}
			if t.Failed() {
				var b strings.Builder
				d.CopyLog(&b, 0)
				t.Logf("CRI containerd %s log:\n%s", d.Version, b.String())
			}
			if err := d.stop(); err != nil {
				t.Errorf("stop CRI containerd: %v", err)
			}
			if _, err := net.InterfaceByName(cd.bridge); err == nil {
				if out, err := exec.Command("ip", "link", "del", cd.bridge).CombinedOutput(); err != nil {
					t.Errorf("remove the CNI bridge %s: %v: %s", cd.bridge, err, out)
				}
			}
		})
	}
	if err != nil {
		t.Fatalf("start CRI containerd: %v", err)
	}
	for _, tar := range []string{"pause.tar", "native.tar", "hello-linux.tar"} {
		path := filepath.Join(imagesDir(suite.repo), tar)
		if _, errOut, code := d.ctrCmd(nil, nil, "images", "import", "--platform", nativePlatform, path); code != 0 {
			t.Fatalf("ctr -n %s images import %s: %s", criNamespace, tar, errOut)
		}
	}
	cd.conn, err = grpc.NewClient("unix://"+d.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("CRI client: %v", err)
	}
	cd.runtime = runtimeapi.NewRuntimeServiceClient(cd.conn)
	cd.images = runtimeapi.NewImageServiceClient(cd.conn)
	cd.waitReady(t)
	return cd
}

// waitReady waits until the CRI plugin says the runtime and the network
// are ready, as the kubelet does before it runs Pods.
func (cd *criDaemon) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := cd.runtime.Status(ctx, &runtimeapi.StatusRequest{})
		cancel()
		if err == nil {
			// The kubelet waits for these two; others (a deprecation
			// warning about cgroup v1, say) only inform.
			ready := 0
			for _, c := range st.Status.Conditions {
				if c.Status && (c.Type == runtimeapi.RuntimeReady || c.Type == runtimeapi.NetworkReady) {
					ready++
				}
			}
			if ready == 2 {
				return
			}
			last = fmt.Sprint(st.Status.Conditions)
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("CRI not ready: %s", last)
}

// config is the daemon's config with CRI on: the handler "wasm" runs our
// shim, criOptionsHandler the same with options that name a runc
// wrapper. It also writes the CNI network and the wrapper.
func (cd *criDaemon) config(d *daemon) (string, error) {
	if err := os.MkdirAll(cd.cniConfDir, 0o755); err != nil {
		return "", err
	}
	// A bridge network of the test's own (CRI adds the loopback itself):
	// no gateway, masquerading or iptables, and the IPAM state under the
	// daemon's directory. The subnet is picked from the run's token.
	n, _ := strconv.Atoi(d.token)
	cd.podNet = fmt.Sprintf("10.213.%d", n%250)
	bridge := fmt.Sprintf(`{"cniVersion": "0.4.0", "name": %q, "plugins": [{"type": "bridge", "bridge": %q, "isGateway": false, "ipMasq": false,
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "%s.0/24", "rangeEnd": "%s.200"}]], "dataDir": %q}}]}`,
		criNetwork, cd.bridge, cd.podNet, cd.podNet, ipamDir(d))
	if err := os.WriteFile(filepath.Join(cd.cniConfDir, "10-bridge.conflist"), []byte(bridge), 0o644); err != nil {
		return "", err
	}
	var err error
	if cd.runc, err = writeRuncWrapper(d.Dir); err != nil {
		return "", err
	}
	// 1.6 passes only the path of an options file to the shim; 2.x the
	// options table itself.
	options := map[string]string{"BinaryName": cd.runc.path}
	if strings.HasPrefix(d.Version, "1.") {
		options = map[string]string{"ConfigPath": cd.runc.options}
	}
	return d.CRIConfig(containerdconfig.CRI{
		SandboxImage: pauseImage,
		CNIBinDir:    cniBinDir,
		CNIConfDir:   cd.cniConfDir,
		Runtimes: []containerdconfig.Runtime{
			// As a RuntimeClass's handler would be listed on 2.x; PullImage
			// takes only the snapshotter from it (cri_platform_test.go).
			{Handler: criHandler, Type: runtimeName, Platform: wasmPlatform},
			{Handler: criOptionsHandler, Type: runtimeName, Options: options},
		},
	}), nil
}

// ipamDir holds host-local's state of d's network: a file per address
// in use, under the network's name.
func ipamDir(d *daemon) string { return filepath.Join(d.Dir, "cni-ipam") }

// runcWrapper is a runc that appends each call's arguments to calls, and
// options is a runtime options file whose BinaryName names it.
type runcWrapper struct{ path, calls, options string }

// writeRuncWrapper writes a runc wrapper and its options file under dir.
func writeRuncWrapper(dir string) (runcWrapper, error) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		return runcWrapper{}, fmt.Errorf("runc to wrap: %w", err)
	}
	w := runcWrapper{
		path:    filepath.Join(dir, "runc-wrapper"),
		calls:   filepath.Join(dir, "runc-calls"),
		options: filepath.Join(dir, "runc-wrapper.toml"),
	}
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" >>%s\nexec %s \"$@\"\n", w.calls, runc)
	if err := os.WriteFile(w.path, []byte(script), 0o755); err != nil {
		return runcWrapper{}, err
	}
	if err := os.WriteFile(w.options, []byte(fmt.Sprintf("BinaryName = %q\n", w.path)), 0o644); err != nil {
		return runcWrapper{}, err
	}
	return w, nil
}

// callsOf is what the wrapper has recorded so far.
func (w runcWrapper) callsOf() string {
	b, _ := os.ReadFile(w.calls)
	return string(b)
}
