package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch stands in for every timestamp, so the same inputs always give the
// same digests (like SOURCE_DATE_EPOCH=0).
var epoch = time.Unix(0, 0).UTC()

// File is one regular file of the image's single layer.
type File struct {
	Src  string // path on the host
	Dest string // absolute path in the image
}

// Shape is how the image holds its files.
type Shape string

const (
	// ShapePlain is one tar layer holding every file, which containerd
	// unpacks into the container's rootfs.
	ShapePlain Shape = "plain"
	// ShapeWasm is one layer per file whose blob is the file itself (the
	// wasm OCI artifact form), which the shim reads from containerd's
	// content store.
	ShapeWasm Shape = "wasm"
)

// Spec is everything the image is built from.
type Spec struct {
	Shape       Shape // default ShapePlain
	Files       []File
	Entrypoint  []string
	Cmd         []string
	Env         []string
	Annotations map[string]string // on the manifest
	Platform    v1.Platform
	// NodePlatforms are the other platforms the index of a wasi image
	// lists the same manifest under (none: a bare manifest).
	NodePlatforms []v1.Platform
	// LayerType is the media type of the modules' layers in ShapeWasm
	// (default LayerTypeComponent).
	LayerType types.MediaType
	// ConfigType replaces the standard OCI config media type, to build the
	// variants that containerd's client refuses (ConfigTypeCNCF...).
	ConfigType types.MediaType
}

// Build returns the image of spec's shape, with the entrypoint, env,
// platform and annotations of spec.
func Build(spec Spec) (v1.Image, error) {
	var img v1.Image
	var err error
	switch spec.Shape {
	case ShapePlain, "":
		img, err = buildPlain(spec)
	case ShapeWasm:
		img, err = buildWasmLayers(spec)
	default:
		return nil, fmt.Errorf("unknown image shape %q (want %s or %s)", spec.Shape, ShapePlain, ShapeWasm)
	}
	if err != nil {
		return nil, err
	}
	if spec.ConfigType != "" {
		img = mutate.ConfigMediaType(img, spec.ConfigType)
	}
	if len(spec.Annotations) > 0 {
		// Annotations wraps the image, so the result is still a v1.Image.
		img = mutate.Annotations(img, spec.Annotations).(v1.Image)
	}
	return img, nil
}

// buildPlain returns a plain OCI image: one gzip'd tar layer with
// Spec.Files and their parent directories.
func buildPlain(spec Spec) (v1.Image, error) {
	layerTar, err := layerTar(spec.Files)
	if err != nil {
		return nil, fmt.Errorf("build layer: %w", err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("build layer: %w", err)
	}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, configFile(spec))
	if err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "wasm-image"},
	})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	return img, nil
}

// layerTar returns the layer as an uncompressed tar, entries sorted by path,
// owned by root, with fixed times and modes, so it is byte-for-byte
// reproducible whatever the host files' metadata.
func layerTar(files []File) ([]byte, error) {
	dests, err := destinations(files)
	if err != nil {
		return nil, err
	}
	byDest := map[string]string{}
	dirs := map[string]bool{}
	for i, f := range files {
		byDest[dests[i]] = f.Src
		for d := path.Dir(dests[i]); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range sortedKeys(dirs) {
		if _, ok := byDest[name]; ok {
			return nil, fmt.Errorf("/%s is both a file and a directory", name)
		}
		if err := tw.WriteHeader(header(name+"/", tar.TypeDir, 0o755, 0)); err != nil {
			return nil, fmt.Errorf("write /%s: %w", name, err)
		}
	}
	for _, name := range sortedKeys(byDest) {
		if err := addFile(tw, name, byDest[name]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close tar: %w", err)
	}
	return buf.Bytes(), nil
}

// destinations are the files' paths in the image, cleaned and without the
// leading slash; the root and a path given twice are refused.
func destinations(files []File) ([]string, error) {
	dests := make([]string, len(files))
	from := map[string]string{}
	for i, f := range files {
		dest := strings.TrimPrefix(path.Clean("/"+f.Dest), "/")
		if dest == "" {
			return nil, fmt.Errorf("%s: destination %q is the root directory", f.Src, f.Dest)
		}
		if prev, ok := from[dest]; ok {
			return nil, fmt.Errorf("%s and %s both go to /%s", prev, f.Src, dest)
		}
		from[dest] = f.Src
		dests[i] = dest
	}
	return dests, nil
}

func addFile(tw *tar.Writer, name, src string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	// Modules, ELF binaries and #! scripts (native programs for a
	// linux/ARCH image) are executable; the mode of the host file is ignored so the digest
	// does not depend on umask.
	mode := int64(0o644)
	if strings.HasSuffix(name, ".wasm") || bytes.HasPrefix(data, []byte("\x7fELF")) || bytes.HasPrefix(data, []byte("#!")) {
		mode = 0o755
	}
	if err := tw.WriteHeader(header(name, tar.TypeReg, mode, int64(len(data)))); err != nil {
		return fmt.Errorf("write /%s: %w", name, err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("write /%s: %w", name, err)
	}
	return nil
}

func header(name string, typ byte, mode, size int64) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     mode,
		Size:     size,
		ModTime:  epoch,
		Format:   tar.FormatPAX,
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
