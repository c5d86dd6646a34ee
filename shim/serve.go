package shim

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	taskv2 "github.com/containerd/containerd/api/runtime/task/v2"
	taskv3 "github.com/containerd/containerd/api/runtime/task/v3"
	pkgshim "github.com/containerd/containerd/v2/pkg/shim"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/fifo"
	"github.com/containerd/log"
	"github.com/containerd/ttrpc"
)

// listenerFD is the socket that the start action hands the server.
const listenerFD = 3

// serve is the long-running shim: the task service on the socket it
// inherited, until Shutdown.
func serve(ctx context.Context, f flags) error {
	setupLogging(ctx, f.debug)
	signal.Ignore(syscall.SIGPIPE)
	l, err := net.FileListener(os.NewFile(listenerFD, "socket"))
	if err != nil {
		return fmt.Errorf("shim socket: %w", err)
	}
	publisher, err := pkgshim.NewPublisher(os.Getenv(EnvTTRPCAddress))
	if err != nil {
		return fmt.Errorf("event publisher: %w", err)
	}
	defer publisher.Close()
	ctx, stop := context.WithCancel(ctx)
	svc := newService(ctx, publisher, hostPlatform{}, stop)
	server, err := ttrpc.NewServer(ttrpc.WithUnaryServerInterceptor(errorsToGRPC))
	if err != nil {
		return fmt.Errorf("ttrpc server: %w", err)
	}
	taskv2.RegisterTTRPCTaskService(server, svc)
	taskv3.RegisterTTRPCTaskService(server, &serviceV3{svc})
	go func() {
		if err := server.Serve(ctx, l); err != nil && ctx.Err() == nil {
			log.G(ctx).WithError(err).Error("ttrpc server")
			stop()
		}
	}()
	<-ctx.Done()
	return shutdownServer(server, l, svc.events)
}

// shutdownServer lets the last response and events go out, then removes
// the socket so that no one dials a dead shim.
func shutdownServer(server *ttrpc.Server, l net.Listener, events *eventQueue) error {
	events.close(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = server.Shutdown(ctx)
	if err := pkgshim.RemoveSocket("unix://" + l.Addr().String()); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove shim socket: %w", err)
	}
	return nil
}

func errorsToGRPC(ctx context.Context, unmarshal ttrpc.Unmarshaler, info *ttrpc.UnaryServerInfo, method ttrpc.Method) (any, error) {
	resp, err := method(ctx, unmarshal)
	return resp, errgrpc.ToGRPC(err)
}

// setupLogging sends the shim's log to the "log" fifo that containerd
// opened in the bundle and copies into its own log.
func setupLogging(ctx context.Context, debug bool) {
	if debug {
		_ = log.SetLevel("debug")
	}
	f, err := fifo.OpenFifo(ctx, "log", syscall.O_WRONLY|syscall.O_NONBLOCK, 0o700)
	if err != nil {
		return
	}
	log.L.Logger.SetOutput(f)
}
