// Command wasm-image builds an OCI image holding WebAssembly modules (and
// any static files), in either shape the shim runs, and writes it as an
// OCI layout tar for `ctr images import`, or pushes it to a registry:
//
//	go run ./hack/wasm-image -o bin/images/hello.tar -ref localhost/wasm/hello:latest \
//	    -entrypoint /hello.wasm bin/examples/hello.wasm
//	ctr -n NS images import bin/images/hello.tar
//
// A wasm image is, by default, an OCI index listing the wasi/wasm manifest
// and one per node platform (-node-platforms, default
// linux/amd64,linux/arm64) with the same layers, so every containerd finds
// and unpacks it whatever platform it pulls for (README, Kubernetes).
// The shapes of other tools: -node-platforms "" gives an index of
// wasi/wasm alone (as `docker buildx --platform wasi/wasm` pushes one
// when it writes an index), -single-platform the bare wasi/wasm manifest
// (runwasi's oci-tar-builder, `wkg oci push`).
//
//	go run ./hack/wasm-image -shape wasm -push -ref 127.0.0.1:5000/wasm/hello:latest \
//	    bin/examples/hello.wasm
//	ctr -n NS images pull --plain-http 127.0.0.1:5000/wasm/hello:latest
//
// Arguments are FILE[:PATH_IN_IMAGE]; PATH_IN_IMAGE defaults to /<base name
// of FILE>. With one module and no -entrypoint, the module is the
// entrypoint. The output is reproducible: same inputs, same digests.
package main

import (
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type options struct {
	out, ref, platform string
	nodePlatforms      string
	push, plainHTTP    bool
	single             bool
	spec               Spec
}

func main() {
	opts, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "wasm-image: %v\n", err)
		os.Exit(2)
	}
	if err := run(opts); err != nil {
		fmt.Fprintf(os.Stderr, "wasm-image: %v\n", err)
		os.Exit(1)
	}
}

func parseArgs(args []string) (*options, error) {
	fs := flag.NewFlagSet("wasm-image", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: wasm-image {-o OUT.tar | -push [-plain-http]} -ref NAME:TAG [-shape plain|wasm] [-layer-type MT] [-config-type MT] [-entrypoint PATH] [-cmd ARG]... [-env K=V]... [-annotation K=V]... [-platform OS/ARCH] [-node-platforms OS/ARCH,... | -single-platform] FILE[:PATH_IN_IMAGE]...")
		fs.PrintDefaults()
	}
	var o options
	var entrypoint, shape, layerType, configType string
	var cmd, env, annotations listFlag
	fs.StringVar(&o.out, "o", "", "output OCI layout tar")
	fs.BoolVar(&o.push, "push", false, "push the image to the registry that -ref names")
	fs.BoolVar(&o.plainHTTP, "plain-http", false, "push over HTTP (implied for localhost and 127.0.0.1)")
	fs.StringVar(&o.ref, "ref", "", "image name, e.g. localhost/wasm/hello:latest (required)")
	fs.StringVar(&shape, "shape", string(ShapePlain), "plain: one tar layer with the files; wasm: one layer per file, the file itself")
	fs.StringVar(&layerType, "layer-type", string(LayerTypeComponent), "media type of the module layers of -shape wasm")
	fs.StringVar(&configType, "config-type", "", "config media type instead of the OCI one (e.g. "+string(ConfigTypeCNCF)+")")
	fs.StringVar(&entrypoint, "entrypoint", "", "process.args[0]: the module's path in the image")
	fs.Var(&cmd, "cmd", "default argument after the entrypoint (repeatable)")
	fs.Var(&env, "env", "environment variable K=V (repeatable)")
	fs.Var(&annotations, "annotation", "manifest annotation K=V (repeatable)")
	fs.StringVar(&o.platform, "platform", "wasi/wasm", "image platform OS/ARCH[/VARIANT]")
	fs.StringVar(&o.nodePlatforms, "node-platforms", platformList(DefaultNodePlatforms),
		"comma-separated platforms the index lists the wasi image under too (empty: wasi/wasm alone)")
	fs.BoolVar(&o.single, "single-platform", false, "emit the bare manifest of -platform, no index")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if (o.out == "" && !o.push) || o.ref == "" || fs.NArg() == 0 {
		fs.Usage()
		return nil, fmt.Errorf("-o or -push, -ref and at least one FILE are required")
	}
	o.spec.Shape = Shape(shape)
	if o.spec.Shape != ShapePlain && o.spec.Shape != ShapeWasm {
		return nil, fmt.Errorf("-shape %q: want %s or %s", shape, ShapePlain, ShapeWasm)
	}
	o.spec.LayerType = types.MediaType(layerType)
	o.spec.ConfigType = types.MediaType(configType)
	return &o, o.fill(entrypoint, cmd, env, annotations, fs.Args())
}

func (o *options) fill(entrypoint string, cmd, env, annotations, files []string) error {
	platform, err := v1.ParsePlatform(o.platform)
	if err != nil {
		return fmt.Errorf("-platform %q: %w", o.platform, err)
	}
	o.spec.Platform = *platform
	if !o.single && o.nodePlatforms != "" && o.spec.Platform.OS == "wasi" {
		for _, s := range strings.Split(o.nodePlatforms, ",") {
			p, err := v1.ParsePlatform(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("-node-platforms %q: %w", s, err)
			}
			o.spec.NodePlatforms = append(o.spec.NodePlatforms, *p)
		}
	}
	if entrypoint != "" {
		o.spec.Entrypoint = []string{entrypoint}
	}
	o.spec.Cmd = cmd
	for _, kv := range env {
		if !strings.Contains(kv, "=") {
			return fmt.Errorf("-env %q: want K=V", kv)
		}
	}
	o.spec.Env = env
	if o.spec.Annotations, err = keyValues(annotations); err != nil {
		return fmt.Errorf("-annotation: %w", err)
	}
	for _, arg := range files {
		src, dest, ok := strings.Cut(arg, ":")
		if !ok {
			dest = "/" + filepath.Base(src)
		}
		o.spec.Files = append(o.spec.Files, File{Src: src, Dest: dest})
	}
	if o.spec.Entrypoint == nil {
		o.spec.Entrypoint = soleModule(o.spec.Files)
	}
	return nil
}

// soleModule is the entrypoint of an image with one module and no
// -entrypoint: that module.
func soleModule(files []File) []string {
	var modules []string
	for _, f := range files {
		if strings.HasSuffix(f.Dest, ".wasm") {
			modules = append(modules, path.Clean("/"+f.Dest))
		}
	}
	if len(modules) != 1 {
		return nil
	}
	return modules
}

func platformList(platforms []v1.Platform) string {
	s := make([]string, len(platforms))
	for i, p := range platforms {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func keyValues(list []string) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(list))
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: want K=V", kv)
		}
		m[k] = v
	}
	return m, nil
}

func run(o *options) error {
	img, err := Build(o.spec)
	if err != nil {
		return err
	}
	var idx v1.ImageIndex
	if wantsIndex(o) {
		if idx, err = Index(img, o.spec); err != nil {
			return err
		}
	}
	if o.push {
		if err := Push(img, idx, o.ref, o.plainHTTP); err != nil {
			return err
		}
	}
	if o.out == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return fmt.Errorf("create output dir: %w", err)
	}
	// Write next to the target and rename, so a failed build never leaves
	// a truncated tar that a later import would trip over.
	tmp, err := os.CreateTemp(filepath.Dir(o.out), ".wasm-image-*.tar")
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := WriteLayoutTar(tmp, img, idx, o.ref, o.spec.Platform); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", o.out, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("chmod output: %w", err)
	}
	if err := os.Rename(tmp.Name(), o.out); err != nil {
		return fmt.Errorf("write %s: %w", o.out, err)
	}
	return nil
}
