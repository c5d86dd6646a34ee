package shim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	runcoptions "github.com/containerd/containerd/api/types/runc/options"
	runtimeoptions "github.com/containerd/containerd/api/types/runtimeoptions/v1"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	"github.com/pelletier/go-toml/v2"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/native"
)

// runtimeOptions are the settings a runtime handler's options give the
// shim. containerd hands a non-runc runtime's options table to the shim as
// runtimeoptions.v1.Options: a TOML file (ConfigPath; ctr's
// --runtime-config-path, or CRI's ConfigPath) or the table itself as TOML
// (ConfigBody; CRI in containerd 1.7 and 2.x).
type runtimeOptions struct {
	// BinaryName is the runc that runs native containers, as runc's own
	// shim names it.
	BinaryName string
}

// optionsTable is the TOML the shim accepts: its own keys, and the keys
// of runtimeoptions.v1.Options itself, which CRI copies into ConfigBody
// along with the rest of the table.
type optionsTable struct {
	BinaryName string `toml:"BinaryName"` // OptionBinaryName
	TypeUrl    string `toml:"TypeUrl"`    // OptionTypeURL
	ConfigPath string `toml:"ConfigPath"` // OptionConfigPath
}

// parseRuntimeOptions reads a Create request's options. A type or a key
// that the shim does not know is an error, not ignored: a setting that
// silently does nothing is worse than a failed create.
func parseRuntimeOptions(opts *anypb.Any) (runtimeOptions, error) {
	if opts == nil || len(opts.GetValue()) == 0 {
		return runtimeOptions{}, nil
	}
	v, err := typeurl.UnmarshalAny(opts)
	if err != nil {
		return runtimeOptions{}, fmt.Errorf("runtime options of type %q: %v: %w", opts.GetTypeUrl(), err, errdefs.ErrInvalidArgument)
	}
	switch o := v.(type) {
	case *runcoptions.Options:
		// What a Go client written for runc sends; only the binary means
		// anything here.
		return runtimeOptions{BinaryName: o.BinaryName}, nil
	case *runtimeoptions.Options:
		return parseOptionsTOML(o)
	}
	return runtimeOptions{}, fmt.Errorf("runtime options of type %q are not supported (use runtimeoptions.v1.Options): %w", opts.GetTypeUrl(), errdefs.ErrInvalidArgument)
}

func parseOptionsTOML(o *runtimeoptions.Options) (runtimeOptions, error) {
	body, source := o.ConfigBody, "the runtime's options"
	if o.ConfigPath != "" {
		b, err := os.ReadFile(o.ConfigPath)
		if err != nil {
			return runtimeOptions{}, fmt.Errorf("runtime options file: %v: %w", err, errdefs.ErrInvalidArgument)
		}
		body, source = b, o.ConfigPath
	}
	var table optionsTable
	dec := toml.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&table); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			var keys []string
			for _, e := range strict.Errors {
				keys = append(keys, strings.Join(e.Key(), "."))
			}
			return runtimeOptions{}, fmt.Errorf("%s: unknown setting %s (the shim knows %s): %w", source, strings.Join(keys, ", "), OptionBinaryName, errdefs.ErrInvalidArgument)
		}
		return runtimeOptions{}, fmt.Errorf("%s: %v: %w", source, err, errdefs.ErrInvalidArgument)
	}
	return runtimeOptions{BinaryName: table.BinaryName}, nil
}

// runcBinaryFile keeps a task's runc in its bundle, so that execs, the
// task's delete and the delete action after a dead shim use the runc that
// created the container.
const runcBinaryFile = "runc-binary"

func writeRuncBinary(bundle, binary string) error {
	if binary == "" {
		return nil
	}
	if err := os.WriteFile(filepath.Join(bundle, runcBinaryFile), []byte(binary), 0o600); err != nil {
		return fmt.Errorf("record the runc binary: %w", err)
	}
	return nil
}

// runcBinary is the runc of a bundle's task: the one its options named,
// else the environment's, else "" (runc on PATH).
func runcBinary(bundle string) string {
	if b, err := os.ReadFile(filepath.Join(bundle, runcBinaryFile)); err == nil {
		return strings.TrimSpace(string(b))
	}
	return os.Getenv(native.BinaryEnv)
}
