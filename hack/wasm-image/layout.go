package main

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

const (
	// annotationImageName is what containerd's importer reads first to name
	// an image (it is what `ctr images export` writes).
	annotationImageName = "io.containerd.image.name"
	// annotationRefName holds only the tag, as the OCI image spec suggests
	// and as containerd's exporter writes it.
	annotationRefName = "org.opencontainers.image.ref.name"
)

// WriteLayoutTar writes idx, or img when idx is nil, as an OCI image
// layout (oci-layout, index.json, blobs/) packed in a tar, the format `ctr
// images import` reads. The entry of index.json carries the image's name,
// so the import names the image ref; a bare image's entry carries its
// platform too, so platform filters see it without reading the config.
func WriteLayoutTar(w io.Writer, img v1.Image, idx v1.ImageIndex, ref string, platform v1.Platform) error {
	dir, err := os.MkdirTemp("", "wasm-image-")
	if err != nil {
		return fmt.Errorf("create layout dir: %w", err)
	}
	defer os.RemoveAll(dir)

	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("write layout: %w", err)
	}
	names := layout.WithAnnotations(map[string]string{
		annotationImageName: ref,
		annotationRefName:   tagOf(ref),
	})
	if idx != nil {
		err = p.AppendIndex(idx, names)
	} else {
		err = p.AppendImage(img, layout.WithPlatform(platform), names)
	}
	if err != nil {
		return fmt.Errorf("write image to layout: %w", err)
	}
	if err := tarDir(w, dir); err != nil {
		return fmt.Errorf("pack layout: %w", err)
	}
	return nil
}

// tagOf returns the tag of a name[:tag] reference, or the whole reference
// when it has none (then containerd falls back to the full-name annotation).
func tagOf(ref string) string {
	if strings.Contains(ref, "@") {
		return ref
	}
	for i := len(ref) - 1; i >= 0; i-- {
		switch ref[i] {
		case ':':
			return ref[i+1:]
		case '/':
			return ref
		}
	}
	return ref
}

// tarDir packs dir with sorted entries (WalkDir's lexical order) and fixed
// metadata, so the archive is as reproducible as the image.
func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(file string, d fs.DirEntry, err error) error {
		if err != nil || file == dir {
			return err
		}
		rel, err := filepath.Rel(dir, file)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return tw.WriteHeader(header(rel+"/", tar.TypeDir, 0o755, 0))
		}
		return copyFile(tw, rel, file)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func copyFile(tw *tar.Writer, name, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(header(name, tar.TypeReg, 0o644, st.Size())); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
