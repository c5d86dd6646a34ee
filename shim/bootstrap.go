package shim

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	bootapi "github.com/containerd/containerd/api/runtime/bootstrap/v1"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/containerd/v2/pkg/protobuf/proto"
	pkgshim "github.com/containerd/containerd/v2/pkg/shim"
)

// groupingAnnotations put all containers of one Pod into one shim.
var groupingAnnotations = []string{AnnotationCRISandboxID, AnnotationCRIOSandboxID}

// startParams is what the start action learns from either protocol.
type startParams struct {
	id, namespace string
	grpcAddress   string
	ttrpcAddress  string
	socketDir     string
	debug         bool
	// bootstrap is true when containerd (>= 2.3) sent BootstrapParams and
	// expects a BootstrapResult back; older daemons read a plain address.
	bootstrap bool
}

// start is the "start" action: containerd runs it in the bundle directory
// and reads the new shim's ttrpc address from stdout. We own this step
// (instead of containerd's pkg/shim) because each daemon generation speaks
// its own dialect: 1.6 to 2.2 send runtime options on stdin and read a
// plain address; 2.3+ send BootstrapParams and read a BootstrapResult.
func start(ctx context.Context, f flags) error {
	input, err := io.ReadAll(io.LimitReader(os.Stdin, 10<<20))
	if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	p := parseStartParams(f, input)
	address, err := launchServer(ctx, f, p)
	if err != nil {
		return err
	}
	return writeStartResult(os.Stdout, p, address)
}

func parseStartParams(f flags, input []byte) startParams {
	p := startParams{
		id: f.id, namespace: f.namespace, grpcAddress: f.address, debug: f.debug,
		ttrpcAddress: os.Getenv(EnvTTRPCAddress),
	}
	var bp bootapi.BootstrapParams
	if len(input) == 0 || proto.Unmarshal(input, &bp) != nil {
		return p
	}
	// Runtime options of older daemons may also decode as BootstrapParams:
	// only a matching identity proves the new protocol.
	if bp.InstanceID != f.id || bp.Namespace != f.namespace {
		return p
	}
	p.bootstrap = true
	p.grpcAddress = bp.ContainerdGrpcAddress
	p.ttrpcAddress = bp.ContainerdTtrpcAddress
	p.socketDir = bp.GetSocketDir()
	p.debug = p.debug || bp.LogLevel <= bootapi.LogLevel_LOG_LEVEL_DEBUG
	return p
}

func writeStartResult(w io.Writer, p startParams, address string) error {
	if !p.bootstrap {
		_, err := io.WriteString(w, address)
		return err
	}
	data, err := proto.Marshal(&bootapi.BootstrapResult{Version: 3, Address: address, Protocol: "ttrpc"})
	if err != nil {
		return fmt.Errorf("marshal bootstrap result: %w", err)
	}
	_, err = w.Write(data)
	return err
}

// launchServer starts the long-running shim for this container's group, or
// returns the address of the one already serving the group.
func launchServer(ctx context.Context, f flags, p startParams) (string, error) {
	grouping, err := groupingID(p.id)
	if err != nil {
		return "", err
	}
	socketDir := p.socketDir
	if socketDir == "" {
		socketDir = filepath.Join(defaults.DefaultStateDir, "s")
	}
	address, err := pkgshim.CreateSocketAddress(ctx, socketDir, p.grpcAddress, grouping, false)
	if err != nil {
		return "", fmt.Errorf("socket address: %w", err)
	}
	l, err := listenShimSocket(address)
	if err != nil {
		if err == errServing {
			return address, writeAddressFile(address)
		}
		return "", err
	}
	// The server owns the socket file now; our copy must not unlink it.
	l.SetUnlinkOnClose(false)
	defer l.Close()
	if err := spawnServer(f, p, l); err != nil {
		_ = pkgshim.RemoveSocket(address)
		return "", err
	}
	return address, writeAddressFile(address)
}

func groupingID(id string) (string, error) {
	spec, err := readBundleSpec(".")
	if err != nil {
		return "", err
	}
	for _, a := range groupingAnnotations {
		if g, ok := spec.Annotations[a]; ok && g != "" {
			return g, nil
		}
	}
	return id, nil
}

var errServing = fmt.Errorf("a shim already serves this socket")

// listenShimSocket creates the shim socket; a socket left by a dead shim is replaced.
func listenShimSocket(address string) (*net.UnixListener, error) {
	l, err := pkgshim.NewSocket(address)
	if err == nil {
		return l, nil
	}
	if !pkgshim.SocketEaddrinuse(err) {
		return nil, fmt.Errorf("create shim socket: %w", err)
	}
	if pkgshim.CanConnect(address) {
		return nil, errServing
	}
	if err := pkgshim.RemoveSocket(address); err != nil {
		return nil, fmt.Errorf("remove stale shim socket: %w", err)
	}
	l, err = pkgshim.NewSocket(address)
	if err != nil {
		return nil, fmt.Errorf("create shim socket: %w", err)
	}
	return l, nil
}

// spawnServer re-executes this binary without an action: the server
// inherits the listening socket as fd 3 and outlives the start action.
func spawnServer(f flags, p startParams, l *net.UnixListener) error {
	sock, err := l.File()
	if err != nil {
		return fmt.Errorf("socket file: %w", err)
	}
	defer sock.Close()
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	args := []string{"-" + FlagNamespace, p.namespace, "-" + FlagID, p.id, "-" + FlagAddress, p.grpcAddress}
	if p.debug {
		args = append(args, "-"+FlagDebug)
	}
	cmd := exec.Command(self, args...)
	cmd.Dir, _ = os.Getwd()
	cmd.Env = append(os.Environ(), EnvTTRPCAddress+"="+p.ttrpcAddress, EnvGRPCAddress+"="+p.grpcAddress)
	cmd.ExtraFiles = []*os.File{sock}
	// Its own process group keeps signals meant for containerd's group away.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start shim server: %w", err)
	}
	if err := os.WriteFile("shim.pid", []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
		_ = cmd.Process.Kill()
		return fmt.Errorf("write shim.pid: %w", err)
	}
	// The server is adopted by init once we exit; don't wait for it.
	return cmd.Process.Release()
}

func writeAddressFile(address string) error {
	if err := os.WriteFile("address", []byte(address), 0o600); err != nil {
		return fmt.Errorf("write address file: %w", err)
	}
	return nil
}
