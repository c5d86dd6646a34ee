package wasmlayer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	contentapi "github.com/containerd/containerd/api/services/content/v1"
	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	"github.com/containerd/containerd/v2/core/content"
	contentproxy "github.com/containerd/containerd/v2/core/content/proxy"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec/wasmbin"
)

// image is the manifest of a container's image, and the store to read its
// blobs from.
type image struct {
	name     string
	manifest ocispec.Manifest
	store    content.Provider
	conn     *grpc.ClientConn
}

// imageOf asks containerd which image the container was created from and
// reads its manifest; nil when the container names no image.
func imageOf(ctx context.Context, address, containerID string) (*image, error) {
	ns, err := namespaces.NamespaceRequired(ctx)
	if err != nil {
		return nil, err
	}
	// The task API's context carries the namespace for ttrpc; containerd's
	// gRPC API wants it in gRPC metadata.
	ctx = namespaces.WithNamespace(ctx, ns)
	conn, err := grpc.NewClient("unix://"+strings.TrimPrefix(address, "unix://"),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w", address, err)
	}
	img, err := readImage(ctx, conn, containerID)
	if err != nil || img == nil {
		conn.Close()
		return nil, err
	}
	return img, nil
}

func readImage(ctx context.Context, conn *grpc.ClientConn, containerID string) (*image, error) {
	c, err := containersapi.NewContainersClient(conn).Get(ctx, &containersapi.GetContainerRequest{ID: containerID})
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", containerID, errgrpc.ToNative(err))
	}
	name := c.Container.Image
	if name == "" {
		return nil, nil
	}
	i, err := imagesapi.NewImagesClient(conn).Get(ctx, &imagesapi.GetImageRequest{Name: name})
	if err != nil {
		return nil, fmt.Errorf("image %s of container %s: %w", name, containerID, errgrpc.ToNative(err))
	}
	target := ocispec.Descriptor{
		MediaType: i.Image.Target.MediaType,
		Digest:    digest.Digest(i.Image.Target.Digest),
		Size:      i.Image.Target.Size,
	}
	store := contentproxy.NewContentStore(contentapi.NewContentClient(conn))
	m, err := images.Manifest(ctx, store, target, wasmPlatform{})
	if err != nil {
		return nil, fmt.Errorf("manifest of image %s: %w", name, err)
	}
	return &image{name: name, manifest: m, store: store, conn: conn}, nil
}

func (img *image) close() { img.conn.Close() }

// copyLayer writes the blob of desc to host, a new file, checking its
// digest and, for a module, its magic number. A blob that does not match
// leaves no file.
func (img *image) copyLayer(ctx context.Context, desc ocispec.Descriptor, host string, module bool) (retErr error) {
	ra, err := img.store.ReaderAt(ctx, desc)
	if err != nil {
		return fmt.Errorf("read layer %s from containerd's content store: %w", desc.Digest, errgrpc.ToNative(err))
	}
	defer ra.Close()
	verifier := desc.Digest.Verifier()
	r := bufio.NewReader(io.TeeReader(io.NewSectionReader(ra, 0, desc.Size), verifier))
	if module {
		if head, _ := r.Peek(len(wasmbin.Magic)); !wasmbin.HasMagic(head) {
			return fmt.Errorf("layer %s (%s) is not a WebAssembly module or component: it does not start with \\0asm: %w", desc.Digest, desc.MediaType, errdefs.ErrInvalidArgument)
		}
	}
	f, err := os.OpenFile(host, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err := f.Close(); err != nil && retErr == nil {
			retErr = err
		}
		if retErr != nil {
			os.Remove(host)
		}
	}()
	n, err := io.Copy(f, r)
	if err != nil {
		return fmt.Errorf("copy layer %s: %w", desc.Digest, err)
	}
	if n != desc.Size {
		return fmt.Errorf("layer %s is corrupt in containerd's content store: %d bytes, want %d: %w", desc.Digest, n, desc.Size, errdefs.ErrDataLoss)
	}
	if !verifier.Verified() {
		return fmt.Errorf("layer %s is corrupt in containerd's content store: its content does not match its digest: %w", desc.Digest, errdefs.ErrDataLoss)
	}
	return nil
}

// wasmPlatform picks the wasm manifest of an index: the container record
// does not say which platform the image was run for, and only a wasm one
// has wasm layers.
type wasmPlatform struct{}

func (wasmPlatform) Match(p ocispec.Platform) bool { return p.Architecture == "wasm" }

// Less prefers wasi/wasm, the convention, over other wasm platforms.
func (wasmPlatform) Less(a, b ocispec.Platform) bool { return a.OS == "wasi" && b.OS != "wasi" }

var _ platforms.MatchComparer = wasmPlatform{}
