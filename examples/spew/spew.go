// Package spew defines the byte stream that `wasi-demo spew MiB` writes, so a
// test on the host can check a large stdout transfer byte for byte without
// storing the expected output:
//
//	want := spew.Sum(64) // sha256 hex of what `wasi-demo spew 64` prints
package spew

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

const (
	// MiB is the unit of the spew subcommand's argument.
	MiB = 1 << 20
	// ChunkSize is the size of each write; large enough to fill a pipe
	// buffer in one call, small enough to interleave with the reader.
	ChunkSize = 64 << 10
	// period is a prime, so the pattern never lines up with a power-of-two
	// buffer boundary and a dropped or repeated chunk changes the digest.
	period = 251
)

// pattern holds ChunkSize bytes starting at every phase 0..period-1:
// pattern[p:p+ChunkSize] is the chunk whose first byte has offset%period == p.
var pattern = func() []byte {
	b := make([]byte, ChunkSize+period)
	for i := range b {
		b[i] = byte(i % period)
	}
	return b
}()

// Write writes mib MiB of the pattern (byte i is i % 251) to w in
// ChunkSize writes.
func Write(w io.Writer, mib int) error {
	total := int64(mib) * MiB
	for off := int64(0); off < total; off += ChunkSize {
		n := min(int64(ChunkSize), total-off)
		p := off % period
		if _, err := w.Write(pattern[p : p+n]); err != nil {
			return fmt.Errorf("write at offset %d: %w", off, err)
		}
	}
	return nil
}

// Sum returns the lowercase hex sha256 of what Write(w, mib) writes.
func Sum(mib int) string {
	h := sha256.New()
	_ = Write(h, mib) // hash.Hash writes never fail
	return hex.EncodeToString(h.Sum(nil))
}
