package main

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// DefaultNodePlatforms are the platforms the builder lists next to
// wasi/wasm by default: the nodes' own. containerd's CRI (1.6, 1.7, and
// 2.x without runtime_platforms or the kubelet's runtime handler) pulls
// and unpacks an image for the node's platform only; a module runs on any
// of them, so the same manifest serves them all.
var DefaultNodePlatforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
}

// wantsIndex tells whether spec gets the multi-platform shape: only a wasm
// image does, a native (linux/ARCH) image runs on its own platform only.
func wantsIndex(spec Spec) bool {
	return spec.Platform.OS == "wasi" && len(spec.NodePlatforms) > 0
}

// Index returns an OCI image index listing img under spec.Platform and then
// under each of spec.NodePlatforms: every entry is the same manifest, so
// the layers and config (whose platform stays spec.Platform) are stored
// once whichever platform a client pulls.
func Index(img v1.Image, spec Spec) (v1.ImageIndex, error) {
	platforms := append([]v1.Platform{spec.Platform}, spec.NodePlatforms...)
	seen := map[string]bool{}
	adds := make([]mutate.IndexAddendum, 0, len(platforms))
	for _, p := range platforms {
		if seen[p.String()] {
			return nil, fmt.Errorf("platform %s listed twice", p)
		}
		seen[p.String()] = true
		adds = append(adds, mutate.IndexAddendum{
			Add:        img,
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
