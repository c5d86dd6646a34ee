// Package wasmlayer runs wasm-layer images: images whose layers are the
// modules themselves (the wasm OCI artifact shape) rather than tars.
// containerd cannot unpack such a layer into a snapshot, so it creates the
// container with an empty rootfs; Place reads the layers from containerd's
// content store, over containerd's API, and writes each one into the
// rootfs at the path its title annotation names, where process.args[0]
// finds it. Remove takes them out again when the task is deleted; the
// example shows both.
package wasmlayer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	securejoin "github.com/cyphar/filepath-securejoin"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/entrypoint"
)

// Layer media types whose blob is a WebAssembly module or component.
var wasmTypes = []string{
	"application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
	"application/vnd.wasm.content.layer.v1+wasm", // wasm-to-oci
	"application/wasm", // CNCF wasm OCI artifact
}

// AnnotationTitle names a layer's file (the ORAS convention).
const AnnotationTitle = "org.opencontainers.image.title"

// Placed is what Place wrote into a rootfs; nil when it wrote nothing.
type Placed struct {
	files []string // host paths, in the order written
	dirs  []string // directories Place created, outermost first
}

// Place makes the wasm layers of the container's image files of rootfs,
// when args[0] does not already name a file there (a plain image's module
// is in the rootfs, and then containerd is not asked at all). With no
// args and a single module layer, the module becomes args[0].
func Place(ctx context.Context, address, containerID, rootfs string, proc *specs.Process) (*Placed, error) {
	if address == "" || proc == nil || inRootfs(rootfs, proc) {
		return nil, nil
	}
	img, err := imageOf(ctx, address, containerID)
	if errdefs.IsNotFound(err) {
		// An image removed since the container was made (or a container
		// that containerd forgot) has no layers to give: args[0] may
		// still be in a bind mount, and if not, resolving it says so.
		log.G(ctx).WithError(err).WithField("id", containerID).Debug("no image to read wasm layers from")
		return nil, nil
	}
	if err != nil || img == nil {
		return nil, err
	}
	defer img.close()
	layers := img.wasmLayers()
	if len(layers) == 0 {
		return nil, nil
	}
	p := &Placed{}
	if err := p.write(ctx, img, layers, rootfs); err != nil {
		p.Remove(ctx)
		return nil, fmt.Errorf("image %s: %w", img.name, err)
	}
	if err := checkEntrypoint(proc, layers); err != nil {
		p.Remove(ctx)
		return nil, fmt.Errorf("image %s: %w", img.name, err)
	}
	log.G(ctx).WithField("id", containerID).Debugf("placed %d wasm layers of %s", len(layers), img.name)
	return p, nil
}

// inRootfs tells whether args[0] names a file of the rootfs as it is.
func inRootfs(rootfs string, proc *specs.Process) bool {
	ref, ok := entrypoint.Parse(proc.Args, proc.Cwd)
	if !ok {
		return false
	}
	host, err := securejoin.SecureJoin(rootfs, ref.Path)
	if err != nil {
		return false
	}
	_, err = os.Stat(host)
	return err == nil
}

// layer is one blob to place and where it goes in the container.
type layer struct {
	desc   ocispec.Descriptor
	guest  string // absolute path in the container
	module bool
}

// wasmLayers lists the layers containerd did not unpack: the modules, and
// the titled files beside them. A layer that is neither is not ours (a
// signature, say) and stays in the store.
func (img *image) wasmLayers() []layer {
	var out []layer
	for _, d := range img.manifest.Layers {
		if images.IsLayerType(d.MediaType) {
			continue
		}
		module := slices.Contains(wasmTypes, d.MediaType)
		title := d.Annotations[AnnotationTitle]
		switch {
		case title != "":
			out = append(out, layer{d, path.Clean("/" + title), module})
		case module:
			// wasm-to-oci and some CNCF artifacts name no file: the module
			// goes by its digest, and runs as the image's sole module.
			out = append(out, layer{d, "/" + d.Digest.Encoded() + ".wasm", true})
		}
	}
	return out
}

func (p *Placed) write(ctx context.Context, img *image, layers []layer, rootfs string) error {
	seen := map[string]bool{}
	for _, l := range layers {
		if l.guest == "/" || seen[l.guest] {
			return fmt.Errorf("layer %s: title %q is the root or another layer's: %w", l.desc.Digest, l.desc.Annotations[AnnotationTitle], errdefs.ErrInvalidArgument)
		}
		seen[l.guest] = true
		host, err := securejoin.SecureJoin(rootfs, l.guest)
		if err != nil {
			return fmt.Errorf("layer %s at %s: %w", l.desc.Digest, l.guest, err)
		}
		if err := p.mkdirs(rootfs, path.Dir(l.guest)); err != nil {
			return fmt.Errorf("layer %s at %s: %w", l.desc.Digest, l.guest, err)
		}
		// copyLayer creates host exclusively and removes it on failure: the
		// rootfs is the image's, and a layer never replaces what
		// containerd unpacked.
		if err := img.copyLayer(ctx, l.desc, host, l.module); err != nil {
			return fmt.Errorf("%s: %w", l.guest, err)
		}
		p.files = append(p.files, host)
	}
	return nil
}

// mkdirs creates the directories leading to guest dir in rootfs, noting
// the ones it made so that Remove takes only those away.
func (p *Placed) mkdirs(rootfs, dir string) error {
	var missing []string
	for d := dir; d != "/"; d = path.Dir(d) {
		missing = append(missing, d)
	}
	for _, d := range slices.Backward(missing) {
		host, err := securejoin.SecureJoin(rootfs, d)
		if err != nil {
			return err
		}
		if err := os.Mkdir(host, 0o755); err == nil {
			p.dirs = append(p.dirs, host)
		} else if !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return nil
}

// checkEntrypoint checks that args[0] names a placed layer (or a file that the
// rootfs already has), and makes the sole module args[0] when there are
// no args.
func checkEntrypoint(proc *specs.Process, layers []layer) error {
	var modules, paths []string
	for _, l := range layers {
		paths = append(paths, l.guest)
		if l.module {
			modules = append(modules, l.guest)
		}
	}
	ref, ok := entrypoint.Parse(proc.Args, proc.Cwd)
	if !ok {
		if len(proc.Args) == 0 && len(modules) == 1 {
			proc.Args = []string{modules[0]}
			return nil
		}
		return fmt.Errorf("process.args names no module, and the image has %d module layers (%s): %w", len(modules), strings.Join(modules, ", "), errdefs.ErrInvalidArgument)
	}
	if slices.Contains(paths, ref.Path) {
		return nil
	}
	return fmt.Errorf("entrypoint %s names no layer of the image (its layers: %s): %w", ref.Path, strings.Join(paths, ", "), errdefs.ErrNotFound)
}

// Remove deletes what Place wrote, so the container's snapshot is as
// containerd made it. Safe on a nil Placed and when called twice.
func (p *Placed) Remove(ctx context.Context) {
	if p == nil {
		return
	}
	for _, f := range p.files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.G(ctx).WithError(err).Warn("remove wasm layer")
		}
	}
	for _, d := range slices.Backward(p.dirs) {
		// Only if empty: the module may have written there.
		_ = os.Remove(d)
	}
	p.files, p.dirs = nil, nil
}
