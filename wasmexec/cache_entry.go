package wasmexec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// cacheFormat changes whenever the entry layout or the key derivation does;
// it is part of every key, so old entries simply stop matching.
const cacheFormat = "containerd-shim-wasm-cache-v1"

// An entry is wasmtime's serialized module (an ELF image) followed by a
// trailer:
//
//	magic "CSWCACHE" | format uint32 | crc32c(artifact) uint32 | len(artifact) uint64 | key[:8]
//
// little-endian, 32 bytes. wasmtime trusts what it deserializes (it maps
// the code and runs it), so a torn or flipped entry must be caught before
// wasmtime sees it. The trailer goes at the end because the artifact must
// start at offset 0 for wasmtime to map the file as it is; wasmtime ignores
// bytes past the ELF image (TestCacheEntryIsLoadableAsIs holds it to that).
// crc32c because the CPU computes it (SSE4.2, the ARMv8 CRC instructions),
// so checking an entry costs little next to mapping it; and a length plus
// a CRC is all that is needed against truncation and bit flips: the
// directory is private, so forgery is not in the threat model. (The
// "verify" case of BenchmarkCacheHit measures the check.)
const (
	trailerMagic   = "CSWCACHE"
	trailerSize    = 32
	trailerVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks an entry that must not be handed to wasmtime.
var errCorrupt = errors.New("corrupt cache entry")

func encodeTrailer(artifact []byte, key string) []byte {
	t := make([]byte, trailerSize)
	copy(t[0:8], trailerMagic)
	binary.LittleEndian.PutUint32(t[8:12], trailerVersion)
	binary.LittleEndian.PutUint32(t[12:16], crc32.Checksum(artifact, castagnoli))
	binary.LittleEndian.PutUint64(t[16:24], uint64(len(artifact)))
	copy(t[24:32], key)
	return t
}

// verifyEntry checks f's trailer and checksum against key.
func verifyEntry(f *os.File, key string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat cache entry: %w", err)
	}
	size := fi.Size()
	if size <= trailerSize {
		return fmt.Errorf("%w: %d bytes", errCorrupt, size)
	}
	t := make([]byte, trailerSize)
	if _, err := f.ReadAt(t, size-trailerSize); err != nil {
		return fmt.Errorf("read cache entry trailer: %w", err)
	}
	if err := checkTrailer(t, size, key); err != nil {
		return err
	}
	sum, err := checksumFile(f, size-trailerSize)
	if err != nil {
		return err
	}
	if want := binary.LittleEndian.Uint32(t[12:16]); sum != want {
		return fmt.Errorf("%w: checksum %08x, want %08x", errCorrupt, sum, want)
	}
	return nil
}

func checkTrailer(t []byte, size int64, key string) error {
	switch {
	case !bytes.Equal(t[0:8], []byte(trailerMagic)):
		return fmt.Errorf("%w: no trailer", errCorrupt)
	case binary.LittleEndian.Uint32(t[8:12]) != trailerVersion:
		return fmt.Errorf("%w: trailer version %d", errCorrupt, binary.LittleEndian.Uint32(t[8:12]))
	case binary.LittleEndian.Uint64(t[16:24]) != uint64(size-trailerSize):
		return fmt.Errorf("%w: %d bytes, trailer says %d", errCorrupt, size-trailerSize, binary.LittleEndian.Uint64(t[16:24]))
	case !bytes.Equal(t[24:32], []byte(key[:8])):
		return fmt.Errorf("%w: trailer names key %x", errCorrupt, t[24:32])
	}
	return nil
}

// checksumFile reads the first n bytes of f through a small buffer rather
// than mapping the file: a fresh mapping pays a page fault per 4 KiB, and
// wasmtime's own mapping would pay them again, where a read of an entry in
// the page cache is a copy.
func checksumFile(f *os.File, n int64) (uint32, error) {
	h := crc32.New(castagnoli)
	if _, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, n), make([]byte, 64<<10)); err != nil {
		return 0, fmt.Errorf("read cache entry: %w", err)
	}
	return h.Sum32(), nil
}
