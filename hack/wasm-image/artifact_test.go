package main

import (
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func imageOfTar(t *testing.T, file string) v1.Image {
	t.Helper()
	idx, digest := firstManifest(t, file)
	img, err := idx.Image(digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestBuildWasmLayers(t *testing.T) {
	in := writeInputs(t)
	file := buildTar(t, t.TempDir(), "app.tar", "-shape", "wasm", "-layer-type", string(LayerTypeWasm),
		"-ref", "localhost/wasm/app:v1", "-env", "A=1",
		filepath.Join(in, "app.wasm"), filepath.Join(in, "hello.txt")+":/data/hello.txt")
	img := imageOfTar(t, file)
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("config media type %s, want the OCI one", m.Config.MediaType)
	}
	want := []struct {
		mt    types.MediaType
		title string
		data  string
	}{
		{LayerTypeWasm, "app.wasm", "\x00asm\x01\x00\x00\x00"},
		{LayerTypeData, "data/hello.txt", "hello from the image\n"},
	}
	if len(m.Layers) != len(want) {
		t.Fatalf("%d layers, want %d", len(m.Layers), len(want))
	}
	for i, w := range want {
		d := m.Layers[i]
		if d.MediaType != w.mt || d.Annotations[annotationTitle] != w.title {
			t.Errorf("layer %d: %s titled %q, want %s titled %q", i, d.MediaType, d.Annotations[annotationTitle], w.mt, w.title)
		}
		if h, _, _ := v1.SHA256(strings.NewReader(w.data)); h != d.Digest || d.Size != int64(len(w.data)) {
			t.Errorf("layer %d: digest %s size %d, want the file's own bytes", i, d.Digest, d.Size)
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	// containerd unpacks no layer of this image and wants a diff_id for
	// each layer it unpacks: none.
	if len(cfg.RootFS.DiffIDs) != 0 {
		t.Errorf("diff_ids %v, want none", cfg.RootFS.DiffIDs)
	}
	// The sole module is the entrypoint when none is given.
	if !slices.Equal(cfg.Config.Entrypoint, []string{"/app.wasm"}) || cfg.OS != "wasi" || cfg.Architecture != "wasm" {
		t.Errorf("entrypoint %q platform %s/%s", cfg.Config.Entrypoint, cfg.OS, cfg.Architecture)
	}
}

func TestConfigType(t *testing.T) {
	in := writeInputs(t)
	file := buildTar(t, t.TempDir(), "app.tar", "-shape", "wasm", "-config-type", string(ConfigTypeCNCF),
		"-ref", "localhost/wasm/app:v1", filepath.Join(in, "app.wasm"))
	m, err := imageOfTar(t, file).Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != ConfigTypeCNCF {
		t.Errorf("config media type %s, want %s", m.Config.MediaType, ConfigTypeCNCF)
	}
}

// TestPush pushes both shapes to an in-process registry and reads them
// back by digest.
func TestPush(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	in := writeInputs(t)
	for _, shape := range []string{"plain", "wasm"} {
		t.Run(shape, func(t *testing.T) {
			ref := u.Host + "/wasm/app-" + shape + ":v1"
			opts, err := parseArgs([]string{"-push", "-plain-http", "-single-platform", "-shape", shape, "-ref", ref, filepath.Join(in, "app.wasm")})
			if err != nil {
				t.Fatal(err)
			}
			if err := run(opts); err != nil {
				t.Fatal(err)
			}
			want, err := Build(opts.spec)
			if err != nil {
				t.Fatal(err)
			}
			wantDigest, _ := want.Digest()
			r, _ := name.ParseReference(ref, name.Insecure)
			got, err := remote.Image(r)
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := got.Digest(); d != wantDigest {
				t.Errorf("registry has %s, built %s", d, wantDigest)
			}
		})
	}
}

// TestPushIndex: the default push is the index, whose every platform
// resolves to the manifest built for it.
func TestPushIndex(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	in := writeInputs(t)
	ref := u.Host + "/wasm/app-index:v1"
	opts, err := parseArgs([]string{"-push", "-ref", ref, filepath.Join(in, "app.wasm")})
	if err != nil {
		t.Fatal(err)
	}
	if err := run(opts); err != nil {
		t.Fatal(err)
	}
	img, err := Build(opts.spec)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := Index(img, opts.spec)
	if err != nil {
		t.Fatal(err)
	}
	wantDigest, _ := idx.Digest()
	r, _ := name.ParseReference(ref, name.Insecure)
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatal(err)
	}
	if desc.MediaType != types.OCIImageIndex || desc.Digest != wantDigest {
		t.Fatalf("registry has %s %s, want index %s", desc.MediaType, desc.Digest, wantDigest)
	}
	for _, p := range []string{"wasi/wasm", "linux/amd64", "linux/arm64"} {
		platform, _ := v1.ParsePlatform(p)
		img, err := remote.Image(r, remote.WithPlatform(*platform))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Platform().String() != p {
			t.Errorf("%s resolves to a config of %s", p, cfg.Platform())
		}
	}
}
