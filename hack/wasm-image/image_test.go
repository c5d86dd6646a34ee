package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// buildTar runs the command's code path end to end into dir/name.
func buildTar(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	opts, err := parseArgs(append([]string{"-o", out}, args...))
	if err != nil {
		t.Fatal(err)
	}
	if err := run(opts); err != nil {
		t.Fatal(err)
	}
	return out
}

// readLayout unpacks an OCI layout tar and opens it with go-containerregistry.
func readLayout(t *testing.T, file string) layout.Path {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		dest := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(dest, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dest, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type entry struct {
	name string
	mode int64
	typ  byte
	data string
}

func layerEntries(t *testing.T, img v1.Image) []entry {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("got %d layers, want 1", len(layers))
	}
	if mt, _ := layers[0].MediaType(); mt != types.OCILayer {
		t.Errorf("layer media type %s, want %s", mt, types.OCILayer)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got []entry
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if !h.ModTime.Equal(epoch) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %v uid %d gid %d, want epoch and root", h.Name, h.ModTime, h.Uid, h.Gid)
		}
		got = append(got, entry{h.Name, h.Mode, h.Typeflag, string(data)})
	}
}

func writeInputs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"app.wasm": "\x00asm\x01\x00\x00\x00", "hello.txt": "hello from the image\n", "native": "\x7fELF\x02\x01"}
	for name, data := range files {
		// 0600 on purpose: the image's modes must not follow the host's.
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuildImage(t *testing.T) {
	in := writeInputs(t)
	file := buildTar(t, t.TempDir(), "app.tar",
		"-single-platform", "-ref", "localhost/wasm/app:v1", "-entrypoint", "/app.wasm",
		"-env", "A=1", "-env", "B=two", "-annotation", "purpose=test",
		filepath.Join(in, "app.wasm"), filepath.Join(in, "hello.txt")+":/data/hello.txt", filepath.Join(in, "native")+":/bin/native")

	idx, err := readLayout(t, file).ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("index has %d manifests, want 1", len(im.Manifests))
	}
	desc := im.Manifests[0]
	if got := desc.Annotations[annotationImageName]; got != "localhost/wasm/app:v1" {
		t.Errorf("%s = %q", annotationImageName, got)
	}
	if got := desc.Annotations[annotationRefName]; got != "v1" {
		t.Errorf("%s = %q", annotationRefName, got)
	}
	if desc.Platform == nil || desc.Platform.OS != "wasi" || desc.Platform.Architecture != "wasm" {
		t.Errorf("index platform %+v, want wasi/wasm", desc.Platform)
	}

	img, err := idx.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("media types %s / %s, want OCI manifest / config", m.MediaType, m.Config.MediaType)
	}
	if m.Annotations["purpose"] != "test" {
		t.Errorf("manifest annotations %v", m.Annotations)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "wasi" || cfg.Architecture != "wasm" {
		t.Errorf("config platform %s/%s, want wasi/wasm", cfg.OS, cfg.Architecture)
	}
	if !slices.Equal(cfg.Config.Entrypoint, []string{"/app.wasm"}) {
		t.Errorf("entrypoint %q", cfg.Config.Entrypoint)
	}
	if !slices.Equal(cfg.Config.Env, []string{"A=1", "B=two"}) {
		t.Errorf("env %q", cfg.Config.Env)
	}

	want := []entry{
		{"bin/", 0o755, tar.TypeDir, ""},
		{"data/", 0o755, tar.TypeDir, ""},
		{"app.wasm", 0o755, tar.TypeReg, "\x00asm\x01\x00\x00\x00"},
		{"bin/native", 0o755, tar.TypeReg, "\x7fELF\x02\x01"},
		{"data/hello.txt", 0o644, tar.TypeReg, "hello from the image\n"},
	}
	if got := layerEntries(t, img); !slices.Equal(got, want) {
		t.Errorf("layer entries\n got %+v\nwant %+v", got, want)
	}
}

func TestBuildIsReproducible(t *testing.T) {
	in := writeInputs(t)
	args := []string{"-ref", "localhost/wasm/app:latest", "-entrypoint", "/app.wasm",
		filepath.Join(in, "app.wasm"), filepath.Join(in, "hello.txt")}
	a := buildTar(t, t.TempDir(), "a.tar", args...)
	// Touching the input changes its mtime and mode, which must not leak in.
	if err := os.Chmod(filepath.Join(in, "app.wasm"), 0o700); err != nil {
		t.Fatal(err)
	}
	b := buildTar(t, t.TempDir(), "b.tar", args...)

	da, db := digestOf(t, a), digestOf(t, b)
	if da != db {
		t.Errorf("manifest digests differ: %s vs %s", da, db)
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ba, bb) {
		t.Error("the two tars differ")
	}
}

func digestOf(t *testing.T, file string) v1.Hash {
	t.Helper()
	_, digest := firstManifest(t, file)
	return digest
}

// firstManifest is the index of an OCI layout tar and its first
// manifest's digest, looking into the image's own index when the layout
// holds one (the builder's default shape).
func firstManifest(t *testing.T, file string) (v1.ImageIndex, v1.Hash) {
	t.Helper()
	idx, err := readLayout(t, file).ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	for {
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		desc := im.Manifests[0]
		if !desc.MediaType.IsIndex() {
			return idx, desc.Digest
		}
		if idx, err = idx.ImageIndex(desc.Digest); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBuildIndex: by default a wasi image is an index listing the wasi/wasm
// manifest first and then one per node platform with the same layers and
// a config on that platform, named in index.json; -node-platforms ”
// lists wasi/wasm alone; a native image and -single-platform stay bare
// manifests.
func TestBuildIndex(t *testing.T) {
	in := writeInputs(t)
	file := indexOf(t, in, "-shape", "wasm", "-config-type", string(ConfigTypeCNCF))
	checkIndex(t, file, ConfigTypeCNCF)
	file = indexOf(t, in)
	im := checkIndex(t, file, types.OCIConfigJSON)

	custom := buildTar(t, t.TempDir(), "custom.tar", "-ref", "localhost/wasm/app:v1",
		"-node-platforms", "linux/riscv64", filepath.Join(in, "app.wasm"))
	ci, digest := firstManifest(t, custom)
	cm, err := ci.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(cm.Manifests) != 2 || cm.Manifests[1].Platform.String() != "linux/riscv64" || digest != im.Manifests[0].Digest || cm.Manifests[1].Digest == digest {
		t.Errorf("-node-platforms linux/riscv64: index %+v", cm.Manifests)
	}

	wasiOnly := buildTar(t, t.TempDir(), "wasi.tar", "-ref", "localhost/wasm/app:v1",
		"-node-platforms", "", filepath.Join(in, "app.wasm"))
	wi, wasiDigest := firstManifest(t, wasiOnly)
	wm, err := wi.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(wm.Manifests) != 1 || wm.Manifests[0].Platform.String() != "wasi/wasm" || wasiDigest != im.Manifests[0].Digest {
		t.Errorf("-node-platforms '': index %+v, want wasi/wasm alone", wm.Manifests)
	}

	for name, args := range map[string][]string{
		"single": {"-single-platform"},
		"native": {"-platform", "linux/amd64"},
	} {
		file := buildTar(t, t.TempDir(), name+".tar", append(args, "-ref", "localhost/wasm/app:v1", filepath.Join(in, "app.wasm"))...)
		top, err := readLayout(t, file).ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		tm, err := top.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(tm.Manifests) != 1 || tm.Manifests[0].MediaType != types.OCIManifestSchema1 {
			t.Errorf("%s: index.json %+v, want one bare manifest", name, tm.Manifests)
		}
	}
	opts, err := parseArgs([]string{"-o", filepath.Join(t.TempDir(), "x.tar"), "-ref", "x:y", "-node-platforms", "wasi/wasm", filepath.Join(in, "app.wasm")})
	if err != nil {
		t.Fatal(err)
	}
	if err := run(opts); err == nil {
		t.Error("an index listing wasi/wasm twice was built, want an error")
	}
}

func TestPlatformFlag(t *testing.T) {
	in := writeInputs(t)
	file := buildTar(t, t.TempDir(), "linux.tar", "-ref", "localhost/wasm/app:latest",
		"-platform", "linux/amd64", filepath.Join(in, "app.wasm"))
	cfg, err := imageOfTar(t, file).ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("config platform %s/%s, want linux/amd64", cfg.OS, cfg.Architecture)
	}
}

func TestBadArgs(t *testing.T) {
	in := writeInputs(t)
	wasm := filepath.Join(in, "app.wasm")
	tests := []struct {
		name string
		args []string
	}{
		{"no output", []string{"-ref", "x:y", wasm}},
		{"no files", []string{"-o", "x.tar", "-ref", "x:y"}},
		{"bad env", []string{"-o", "x.tar", "-ref", "x:y", "-env", "NOEQUALS", wasm}},
		{"bad platform", []string{"-o", "x.tar", "-ref", "x:y", "-platform", "a/b/c/d", wasm}},
		{"bad node platform", []string{"-o", "x.tar", "-ref", "x:y", "-node-platforms", "linux/amd64,a/b/c/d", wasm}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseArgs(tc.args); err == nil {
				t.Error("parseArgs succeeded, want an error")
			}
		})
	}
}

func TestLayerConflicts(t *testing.T) {
	in := writeInputs(t)
	wasm := filepath.Join(in, "app.wasm")
	tests := []struct {
		name  string
		files []File
	}{
		{"same destination", []File{{wasm, "/a.wasm"}, {wasm, "/a.wasm"}}},
		{"file and directory", []File{{wasm, "/a"}, {wasm, "/a/b.wasm"}}},
		{"root", []File{{wasm, "/"}}},
		{"missing source", []File{{filepath.Join(in, "nope"), "/nope"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := layerTar(tc.files); err == nil {
				t.Error("layerTar succeeded, want an error")
			}
		})
	}
}

func TestTagOf(t *testing.T) {
	for ref, want := range map[string]string{
		"localhost/wasm/hello:latest": "latest",
		"localhost:5000/hello":        "localhost:5000/hello",
		"hello":                       "hello",
		"hello@sha256:abc":            "hello@sha256:abc",
	} {
		if got := tagOf(ref); got != want {
			t.Errorf("tagOf(%q) = %q, want %q", ref, got, want)
		}
	}
}

func indexOf(t *testing.T, in string, args ...string) string {
	t.Helper()
	return buildTar(t, t.TempDir(), "app.tar", append(args, "-ref", "localhost/wasm/app:v1", filepath.Join(in, "app.wasm"))...)
}

// checkIndex checks the image index of a layout tar and returns it.
func checkIndex(t *testing.T, file string, configType types.MediaType) *v1.IndexManifest {
	t.Helper()
	top, err := readLayout(t, file).ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 || tm.Manifests[0].MediaType != types.OCIImageIndex {
		t.Fatalf("index.json %+v, want one image index", tm.Manifests)
	}
	if got := tm.Manifests[0].Annotations[annotationImageName]; got != "localhost/wasm/app:v1" {
		t.Errorf("%s = %q", annotationImageName, got)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	var layers []v1.Hash
	for i, d := range im.Manifests {
		if d.MediaType != types.OCIManifestSchema1 || d.Platform == nil {
			t.Fatalf("entry %+v, want an OCI manifest with a platform", d)
		}
		platforms = append(platforms, d.Platform.String())
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.Config.MediaType != configType {
			t.Errorf("%s: config media type %s, want %s", d.Platform, m.Config.MediaType, configType)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Platform().String(); got != d.Platform.String() {
			t.Errorf("%s: config says %s", d.Platform, got)
		}
		if !slices.Equal(cfg.Config.Entrypoint, []string{"/app.wasm"}) {
			t.Errorf("%s: entrypoint %q", d.Platform, cfg.Config.Entrypoint)
		}
		var digests []v1.Hash
		for _, l := range m.Layers {
			digests = append(digests, l.Digest)
		}
		if i == 0 {
			layers = digests
		} else if !slices.Equal(digests, layers) {
			t.Errorf("%s: layers %v, wasi/wasm has %v", d.Platform, digests, layers)
		}
	}
	if want := []string{"wasi/wasm", "linux/amd64", "linux/arm64"}; !slices.Equal(platforms, want) {
		t.Errorf("platforms %q, want %q", platforms, want)
	}
	return im
}
