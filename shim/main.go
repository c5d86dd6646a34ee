package shim

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/log"
)

// RuntimeName is the runtime type containerd users name this shim by.
const RuntimeName = "io.containerd.wasm.v1"

// VersionInfo is what --version prints.
type VersionInfo struct {
	Version   string
	Wasmtime  string
	GoVersion string
}

// flags are the command line that containerd (any version) passes.
type flags struct {
	namespace     string
	id            string
	address       string
	publishBinary string
	bundle        string
	socket        string
	debug         bool
	version       bool
	info          bool
	action        string
}

func parseFlags(args []string) (flags, error) {
	var f flags
	fs := newFlagSet(&f)
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	f.action = fs.Arg(0)
	return f, nil
}

// newFlagSet defines the flags, by the names of ConfigNames, into f.
func newFlagSet(f *flags) *flag.FlagSet {
	fs := flag.NewFlagSet("containerd-shim-wasm-v1", flag.ContinueOnError)
	fs.StringVar(&f.namespace, FlagNamespace, "", "namespace of the task")
	fs.StringVar(&f.id, FlagID, "", "id of the task")
	fs.StringVar(&f.address, FlagAddress, "", "grpc address of containerd")
	fs.StringVar(&f.publishBinary, FlagPublishBinary, "", "containerd binary (unused: events go over ttrpc)")
	fs.StringVar(&f.bundle, FlagBundle, "", "bundle path (delete action)")
	fs.StringVar(&f.socket, FlagSocket, "", "unused; accepted for compatibility")
	fs.BoolVar(&f.debug, FlagDebug, false, "debug logging")
	fs.BoolVar(&f.version, FlagVersion, false, "print the version and exit")
	fs.BoolVar(&f.version, FlagVersionShort, false, "print the version and exit")
	fs.BoolVar(&f.info, FlagInfo, false, "print runtime info as protobuf and exit")
	return fs
}

// Main runs the shim binary with its command-line arguments (without the
// program name) and returns the exit status.
func Main(args []string, v VersionInfo) int {
	f, err := parseFlags(args)
	if err != nil {
		return 2
	}
	if err := run(f, v); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", RuntimeName, err)
		return 1
	}
	return 0
}

func run(f flags, v VersionInfo) error {
	switch {
	case f.version:
		printVersion(os.Stdout, v)
		return nil
	case f.info:
		return writeInfo(os.Stdout, v)
	case f.namespace == "":
		return fmt.Errorf("shim namespace cannot be empty")
	}
	ctx := namespaces.WithNamespace(context.Background(), f.namespace)
	if f.debug {
		_ = log.SetLevel("debug")
	}
	switch f.action {
	case "start":
		return start(ctx, f)
	case "delete":
		return deleteBundle(ctx, f)
	case "":
		return serve(ctx, f)
	default:
		return fmt.Errorf("unknown action %q", f.action)
	}
}

func printVersion(w io.Writer, v VersionInfo) {
	fmt.Fprintf(w, "containerd-shim-wasm-v1:\n")
	fmt.Fprintf(w, "  Runtime:  %s\n", RuntimeName)
	fmt.Fprintf(w, "  Version:  %s\n", v.Version)
	fmt.Fprintf(w, "  Wasmtime: %s\n", v.Wasmtime)
	fmt.Fprintf(w, "  Go:       %s\n", v.GoVersion)
}
