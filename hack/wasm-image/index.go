package main

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// DefaultNodePlatforms are the platforms the builder lists next to
// wasi/wasm by default: the nodes' own. containerd's CRI (1.6, and 2.x
// whatever runtime_platforms and the kubelet's runtime handler say) pulls
// an index's entry for the node's platform only, and 2.4's default pull
// (the transfer service) unpacks only a config of that platform: a
// wasi/wasm config gets no snapshot, and a Pod of a plain-shape image no
// rootfs (docs/design.md, Kubernetes).
var DefaultNodePlatforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
}

// wantsIndex tells whether o gets an index: a wasm image does unless
// -single-platform, a native (linux/ARCH) image runs on its own platform
// only. With no node platforms the index lists wasi/wasm alone, the shape
// of `docker buildx --platform wasi/wasm`.
func wantsIndex(o *options) bool {
	return o.spec.Platform.OS == "wasi" && !o.single
}

// Index returns an OCI image index listing img under spec.Platform and then,
// for each of spec.NodePlatforms, img with the config's platform set to
// that one: the manifests share every layer, and their configs differ in
// the platform alone, which is what containerd's unpacker matches.
func Index(img v1.Image, spec Spec) (v1.ImageIndex, error) {
	platforms := append([]v1.Platform{spec.Platform}, spec.NodePlatforms...)
	seen := map[string]bool{}
	adds := make([]mutate.IndexAddendum, 0, len(platforms))
	for _, p := range platforms {
		if seen[p.String()] {
			return nil, fmt.Errorf("platform %s listed twice", p)
		}
		seen[p.String()] = true
		add := img
		if p.String() != spec.Platform.String() {
			var err error
			if add, err = onPlatform(img, p, spec.ConfigType); err != nil {
				return nil, err
			}
		}
		adds = append(adds, mutate.IndexAddendum{
			Add:        add,
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	idx = mutate.AppendManifests(idx, adds...)
	if _, err := idx.Digest(); err != nil {
		return nil, fmt.Errorf("build index: %w", err)
	}
	return idx, nil
}

// onPlatform is img with its config saying platform p. A config of
// another media type than the OCI one (configType) is kept byte for byte
// by go-containerregistry, so the change goes through the OCI type and the
// type is put back after.
func onPlatform(img v1.Image, p v1.Platform, configType types.MediaType) (v1.Image, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant, cfg.OSVersion = p.OS, p.Architecture, p.Variant, p.OSVersion
	if configType != "" {
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	}
	out, err := mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("config for %s: %w", p, err)
	}
	if configType != "" {
		out = mutate.ConfigMediaType(out, configType)
	}
	return out, nil
}
