package main

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push uploads idx to the registry that ref names or, when idx is nil,
// img as a bare manifest (containerd's client checks no platform for a
// manifest at the top, but CRI's image store does, see README).
// plainHTTP speaks HTTP to the registry (go-containerregistry already does
// for localhost and 127.0.0.1).
func Push(img v1.Image, idx v1.ImageIndex, ref string, plainHTTP bool) error {
	var opts []name.Option
	if plainHTTP {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return fmt.Errorf("reference %q: %w", ref, err)
	}
	if idx != nil {
		if err := remote.WriteIndex(r, idx); err != nil {
			return fmt.Errorf("push %s: %w", r, err)
		}
		return nil
	}
	if err := remote.Write(r, img); err != nil {
		return fmt.Errorf("push %s: %w", r, err)
	}
	return nil
}
