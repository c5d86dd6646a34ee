package wasmlayer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const component = "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm"

var module = []byte("\x00asm\x01\x00\x00\x00")

// blob is a layer to put in the test's content store.
type blob struct {
	mediaType, title string
	data             []byte
}

// testImage stores blobs in a local content store under dir and returns
// the image whose manifest lists them, in order.
func testImage(t *testing.T, dir string, blobs ...blob) *image {
	t.Helper()
	store, err := local.NewStore(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	img := &image{name: "test", store: store}
	for _, b := range blobs {
		desc := ocispec.Descriptor{MediaType: b.mediaType, Digest: digest.FromBytes(b.data), Size: int64(len(b.data))}
		if b.title != "" {
			desc.Annotations = map[string]string{AnnotationTitle: b.title}
		}
		if err := content.WriteBlob(context.Background(), store, desc.Digest.String(), bytes.NewReader(b.data), desc); err != nil {
			t.Fatal(err)
		}
		img.manifest.Layers = append(img.manifest.Layers, desc)
	}
	return img
}

// place runs what Place does once it has the image.
func place(t *testing.T, img *image, rootfs string, proc *specs.Process) (*Placed, error) {
	t.Helper()
	p := &Placed{}
	layers := img.wasmLayers()
	err := p.write(context.Background(), img, layers, rootfs)
	if err == nil {
		err = checkEntrypoint(proc, layers)
	}
	if err != nil {
		p.Remove(context.Background())
	}
	return p, err
}

// tree lists the files and directories under root, relative to it.
func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != root {
			out = append(out, strings.TrimPrefix(p, root))
		}
		return err
	})
	return out
}

func TestPlace(t *testing.T) {
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	img := testImage(t, dir,
		blob{component, "app.wasm", module},
		blob{"application/octet-stream", "data/deep/hello.txt", []byte("hi\n")},
		blob{ocispec.MediaTypeImageLayerGzip, "", []byte("a tar containerd unpacked")},
		blob{"application/vnd.dev.sigstore.bundle+json", "", []byte("a signature")},
	)
	proc := &specs.Process{Args: []string{"app.wasm#run", "x"}, Cwd: "/"}
	if inRootfs(rootfs, proc) {
		t.Fatal("an empty rootfs holds app.wasm")
	}
	p, err := place(t, img, rootfs, proc)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/app.wasm", "/data", "/data/deep", "/data/deep/hello.txt"}
	if got := tree(t, rootfs); !slices.Equal(got, want) {
		t.Errorf("rootfs holds %q, want %q", got, want)
	}
	if data, _ := os.ReadFile(filepath.Join(rootfs, "data/deep/hello.txt")); string(data) != "hi\n" {
		t.Errorf("data file holds %q", data)
	}
	if !inRootfs(rootfs, proc) {
		t.Error("inRootfs does not see the placed module")
	}
	p.Remove(context.Background())
	p.Remove(context.Background()) // twice is harmless
	if got := tree(t, rootfs); len(got) != 0 {
		t.Errorf("after Remove the rootfs holds %q", got)
	}
	var none *Placed
	none.Remove(context.Background())
}

// TestPlaceKeepsWhatItDidNotMake: Remove leaves directories that were
// there before and files that the module wrote.
func TestPlaceKeepsWhatItDidNotMake(t *testing.T) {
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	img := testImage(t, dir, blob{component, "app.wasm", module}, blob{"application/octet-stream", "data/new/a.txt", []byte("a")})
	p, err := place(t, img, rootfs, &specs.Process{Args: []string{"/app.wasm"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "data/new/written.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p.Remove(context.Background())
	want := []string{"/data", "/data/new", "/data/new/written.txt"}
	if got := tree(t, rootfs); !slices.Equal(got, want) {
		t.Errorf("rootfs holds %q, want %q", got, want)
	}
}

func TestSoleModuleIsTheEntrypoint(t *testing.T) {
	dir := t.TempDir()
	img := testImage(t, dir, blob{"application/wasm", "", module})
	proc := &specs.Process{}
	if _, err := place(t, img, dir, proc); err != nil {
		t.Fatal(err)
	}
	want := "/" + digest.FromBytes(module).Encoded() + ".wasm"
	if !slices.Equal(proc.Args, []string{want}) {
		t.Errorf("args %q, want [%s]", proc.Args, want)
	}
}

func TestPlaceRefuses(t *testing.T) {
	tests := []struct {
		name    string
		blobs   []blob
		args    []string
		corrupt bool
		is      error
		want    string
	}{
		{"not wasm", []blob{{component, "app.wasm", []byte("#!/bin/sh\n")}}, []string{"/app.wasm"}, false, errdefs.ErrInvalidArgument, "not a WebAssembly module"},
		{"corrupt blob", []blob{{component, "app.wasm", module}}, []string{"/app.wasm"}, true, errdefs.ErrDataLoss, "does not match its digest"},
		{"entrypoint names no layer", []blob{{component, "app.wasm", module}}, []string{"/other.wasm"}, false, errdefs.ErrNotFound, "/other.wasm names no layer"},
		{"two titles alike", []blob{{component, "app.wasm", module}, {"application/octet-stream", "/app.wasm", []byte("x")}}, []string{"/app.wasm"}, false, errdefs.ErrInvalidArgument, "another layer's"},
		{"no args, two modules", []blob{{component, "a.wasm", module}, {component, "b.wasm", append(module, 0)}}, nil, false, errdefs.ErrInvalidArgument, "2 module layers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rootfs := filepath.Join(dir, "rootfs")
			if err := os.Mkdir(rootfs, 0o755); err != nil {
				t.Fatal(err)
			}
			img := testImage(t, dir, tc.blobs...)
			if tc.corrupt {
				d := img.manifest.Layers[0].Digest
				if err := os.WriteFile(filepath.Join(dir, "store", "blobs", "sha256", d.Encoded()), append(module[:4:4], 9, 9, 9, 9), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := place(t, img, rootfs, &specs.Process{Args: tc.args})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if !errorIs(err, tc.is) {
				t.Errorf("%v is not %v", err, tc.is)
			}
			if got := tree(t, rootfs); len(got) != 0 {
				t.Errorf("the refused image left %q in the rootfs", got)
			}
		})
	}
}

func errorIs(err, target error) bool {
	switch target {
	case errdefs.ErrInvalidArgument:
		return errdefs.IsInvalidArgument(err)
	case errdefs.ErrDataLoss:
		return errdefs.IsDataLoss(err)
	case errdefs.ErrNotFound:
		return errdefs.IsNotFound(err)
	}
	return false
}

// TestTitlesStayInside: a title that climbs out with .. lands inside the
// rootfs, as do symlinks the rootfs already holds.
func TestTitlesStayInside(t *testing.T) {
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	outside := filepath.Join(dir, "outside")
	for _, d := range []string{rootfs, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(rootfs, "link")); err != nil {
		t.Fatal(err)
	}
	img := testImage(t, dir, blob{component, "../../../app.wasm", module})
	p, err := place(t, img, rootfs, &specs.Process{Args: []string{"/app.wasm"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "app.wasm")); err != nil {
		t.Errorf("app.wasm is not at the rootfs' top: %v", err)
	}
	p.Remove(context.Background())
	// The link resolves inside the rootfs, where its target does not
	// exist: the layer is refused or lands inside, never outside.
	img = testImage(t, filepath.Join(dir, "second"), blob{component, "app.wasm", module}, blob{"application/octet-stream", "link/x.txt", []byte("x")})
	_, err = place(t, img, rootfs, &specs.Process{Args: []string{"/app.wasm"}})
	t.Logf("through the link: %v", err)
	if got := tree(t, outside); len(got) != 0 {
		t.Errorf("layers escaped the rootfs: %q", got)
	}
}
