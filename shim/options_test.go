package shim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	runcoptions "github.com/containerd/containerd/api/types/runc/options"
	runtimeoptions "github.com/containerd/containerd/api/types/runtimeoptions/v1"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/native"
)

func anyOf(t *testing.T, v any) *anypb.Any {
	t.Helper()
	a, err := typeurl.MarshalAnyToProto(v)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestParseRuntimeOptions(t *testing.T) {
	file := filepath.Join(t.TempDir(), "wasm.toml")
	if err := os.WriteFile(file, []byte("BinaryName = \"/opt/runc\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    func(t *testing.T) *anypb.Any
		want    string
		wantErr string
	}{
		{name: "none", opts: func(*testing.T) *anypb.Any { return nil }},
		{name: "empty value, as containerd 2.x may send", opts: func(*testing.T) *anypb.Any {
			return &anypb.Any{TypeUrl: "runtimeoptions.v1.Options"}
		}},
		{name: "ConfigBody, as CRI sends the options table", opts: func(t *testing.T) *anypb.Any {
			return anyOf(t, &runtimeoptions.Options{ConfigBody: []byte("BinaryName = '/usr/local/sbin/runc'\n")})
		}, want: "/usr/local/sbin/runc"},
		{name: "ConfigBody with the keys of the options message itself", opts: func(t *testing.T) *anypb.Any {
			return anyOf(t, &runtimeoptions.Options{ConfigBody: []byte("TypeUrl = 'x'\nConfigPath = ''\nBinaryName = 'runc'\n")})
		}, want: "runc"},
		{name: "ConfigPath, as ctr --runtime-config-path sends", opts: func(t *testing.T) *anypb.Any {
			return anyOf(t, &runtimeoptions.Options{ConfigPath: file, ConfigBody: []byte("BinaryName = 'ignored'")})
		}, want: "/opt/runc"},
		{name: "empty table", opts: func(t *testing.T) *anypb.Any {
			return anyOf(t, &runtimeoptions.Options{TypeUrl: "x"})
		}},
		{name: "runc's options, from a client written for runc", opts: func(t *testing.T) *anypb.Any {
			return anyOf(t, &runcoptions.Options{BinaryName: "/bin/crun"})
		}, want: "/bin/crun"},
		{name: "missing ConfigPath", opts: func(t *testing.T) *anypb.Any {
			return anyOf(t, &runtimeoptions.Options{ConfigPath: "/does/not/exist.toml"})
		}, wantErr: "runtime options file: open /does/not/exist.toml"},
		{name: "unknown key", opts: func(t *testing.T) *anypb.Any {
			return anyOf(t, &runtimeoptions.Options{ConfigBody: []byte("BinaryName = 'runc'\nSystemdCgroup = true\n")})
		}, wantErr: "SystemdCgroup"},
		{name: "not TOML", opts: func(t *testing.T) *anypb.Any {
			return anyOf(t, &runtimeoptions.Options{ConfigPath: file + ".bad"})
		}, wantErr: ".bad"},
		{name: "wrong type for a key", opts: func(t *testing.T) *anypb.Any {
			return anyOf(t, &runtimeoptions.Options{ConfigBody: []byte("BinaryName = 3\n")})
		}, wantErr: "the runtime's options"},
		{name: "a type the shim does not know", opts: func(*testing.T) *anypb.Any {
			return &anypb.Any{TypeUrl: "example.com/Unknown", Value: []byte{1}}
		}, wantErr: `"example.com/Unknown"`},
		{name: "a known type that is not options", opts: func(t *testing.T) *anypb.Any {
			return anyOf(t, wrapperspb.String("BinaryName = 'runc'"))
		}, wantErr: "are not supported"},
	}
	if err := os.WriteFile(file+".bad", []byte("BinaryName = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRuntimeOptions(tc.opts(t))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errdefs.IsInvalidArgument(err) {
					t.Fatalf("error = %v, want an invalid-argument error mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.BinaryName != tc.want {
				t.Fatalf("BinaryName = %q, want %q", got.BinaryName, tc.want)
			}
		})
	}
}

func TestRuncBinaryOfABundle(t *testing.T) {
	bundle := t.TempDir()
	t.Setenv(native.BinaryEnv, "/from/env/runc")
	if got := runcBinary(bundle); got != "/from/env/runc" {
		t.Fatalf("without options: %q, want the environment's", got)
	}
	if err := writeRuncBinary(bundle, ""); err != nil {
		t.Fatal(err)
	}
	if got := runcBinary(bundle); got != "/from/env/runc" {
		t.Fatalf("with empty options: %q, want the environment's", got)
	}
	if err := writeRuncBinary(bundle, "/from/options/runc"); err != nil {
		t.Fatal(err)
	}
	if got := runcBinary(bundle); got != "/from/options/runc" {
		t.Fatalf("with options: %q, want the options'", got)
	}
}
