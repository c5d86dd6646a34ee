package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec/wasmbin"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types of the wasm-layer shape. The three layer types are the ones
// in use: the Bytecode Alliance's (runwasi, wkg), wasm-to-oci's, and the
// CNCF wasm OCI artifact's. The config types are what the CNCF artifact and
// wasm-to-oci put on the config; containerd's client refuses both (README).
const (
	LayerTypeComponent types.MediaType = "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm"
	LayerTypeWasmToOCI types.MediaType = "application/vnd.wasm.content.layer.v1+wasm"
	LayerTypeWasm      types.MediaType = "application/wasm"
	// LayerTypeData is the type of a static file in the wasm-layer shape:
	// opaque bytes that, like a module, land at the layer's title.
	LayerTypeData types.MediaType = "application/octet-stream"

	ConfigTypeCNCF      types.MediaType = "application/vnd.wasm.config.v0+json"
	ConfigTypeWasmToOCI types.MediaType = "application/vnd.wasm.config.v1+json"

	// annotationTitle names a layer's file, as ORAS does; the shim places
	// the layer at this path in the container.
	annotationTitle = "org.opencontainers.image.title"
)

// buildWasmLayers returns the wasm-layer shape: one layer per file, the
// file's bytes as they are (no tar, no compression), each titled with its
// path in the image. Modules (by the magic number or a .wasm name) get
// spec.LayerType, other files LayerTypeData. The config is a standard
// image config with no diff_ids: containerd unpacks no layer of this image
// (none is a tar), and checks that diff_ids match the layers it unpacks.
func buildWasmLayers(spec Spec) (v1.Image, error) {
	layerType := spec.LayerType
	if layerType == "" {
		layerType = LayerTypeComponent
	}
	titles, err := destinations(spec.Files)
	if err != nil {
		return nil, err
	}
	var adds []mutate.Addendum
	for i, f := range spec.Files {
		title := titles[i]
		data, err := os.ReadFile(f.Src)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.Src, err)
		}
		mt := LayerTypeData
		if wasmbin.HasMagic(data) || strings.HasSuffix(title, ".wasm") {
			mt = layerType
		}
		adds = append(adds, mutate.Addendum{
			Layer:       static.NewLayer(data, mt),
			Annotations: map[string]string{annotationTitle: title},
			History:     v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "wasm-image"},
		})
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("append layers: %w", err)
	}
	// Set the config after the layers, so that Append's diff_ids are
	// replaced by the empty list containerd expects.
	img, err = mutate.ConfigFile(img, configFile(spec))
	if err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	return img, nil
}

// configFile is the image config of either shape, without diff_ids.
func configFile(spec Spec) *v1.ConfigFile {
	return &v1.ConfigFile{
		Architecture: spec.Platform.Architecture,
		OS:           spec.Platform.OS,
		Variant:      spec.Platform.Variant,
		Created:      v1.Time{Time: epoch},
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{}},
		Config: v1.Config{
			Entrypoint: spec.Entrypoint,
			Cmd:        spec.Cmd,
			Env:        spec.Env,
		},
	}
}
