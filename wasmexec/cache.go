package wasmexec

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultCacheMaxBytes bounds a cache whose size is not configured.
const DefaultCacheMaxBytes int64 = 1 << 30

// CacheOutcome says where a Program's machine code came from.
type CacheOutcome string

const (
	// CacheOff: no cache is configured; the module was compiled.
	CacheOff CacheOutcome = "off"
	// CacheHit: the module was loaded from the cache, maybe after waiting
	// for another process to compile it.
	CacheHit CacheOutcome = "hit"
	// CacheMiss: the module was compiled and stored in the cache.
	CacheMiss CacheOutcome = "miss"
	// CacheFailed: the module was compiled, but the cache could not be
	// used; Stats.CacheErr says why. A task never fails because of it.
	CacheFailed CacheOutcome = "error"
)

// Stats describe how a module's code was obtained, for the shim to log.
type Stats struct {
	Cache CacheOutcome
	// Key names the module's cache entry ("" without a cache).
	Key string
	// CacheErr is why the cache was not used (CacheFailed).
	CacheErr error
	// Discarded is why a stored entry was thrown away and replaced
	// (truncated, corrupt, refused by wasmtime).
	Discarded error
	// Compile is the time spent compiling; zero on a hit.
	Compile time.Duration
	// Load is the time spent verifying and mapping a cached entry.
	Load time.Duration
	// LockWait is the time spent waiting for another compile of the module.
	LockWait time.Duration
}

// Cache is a directory of compiled modules shared by every shim and task on
// the node. Entries are published by rename, so a reader sees a whole entry
// or none; one process compiles a given module at a time (a flock per key)
// and the others wait for its result; an entry that fails its checksum is
// compiled again and replaced; and the directory is kept under a size bound
// by evicting the least recently used entries.
//
// The directory is trusted: whoever can write to it can run code in every
// task. OpenCache therefore insists that it belongs to the caller and is
// private (0700).
type Cache struct {
	dir      string
	maxBytes int64
	// lockWait bounds the wait for another process's compile; past it we
	// compile too, which costs time but is still correct.
	lockWait time.Duration
}

const (
	entrySuffix = ".cwasm"
	lockSuffix  = ".lock"
	tmpPrefix   = ".tmp-"
	evictLock   = ".evict.lock"
)

// OpenCache opens (creating it if needed) the cache in dir, an absolute
// path, bounded to maxBytes (DefaultCacheMaxBytes if 0 or less).
func OpenCache(dir string, maxBytes int64) (*Cache, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("cache directory %q is not an absolute path", dir)
	}
	if maxBytes <= 0 {
		maxBytes = DefaultCacheMaxBytes
	}
	if err := ensurePrivateDir(dir); err != nil {
		return nil, err
	}
	return &Cache{dir: dir, maxBytes: maxBytes, lockWait: 2 * time.Minute}, nil
}

// Dir is the cache's directory.
func (c *Cache) Dir() string { return c.dir }

// ensurePrivateDir creates dir 0700 and refuses one that another user owns:
// its owner could plant code that wasmtime would run. A directory of ours
// with looser permissions is tightened rather than refused, since nobody
// else can have written to it unless it was writable, and then the
// checksums still catch accidents but not malice; tightening is the best
// that can be done without throwing everything away.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create cache directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cache directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("cache directory %s is not a directory", dir)
	}
	if uid := ownerOf(fi); uid != os.Geteuid() {
		return fmt.Errorf("cache directory %s belongs to uid %d, not to us (uid %d): not using it", dir, uid, os.Geteuid())
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("make cache directory private: %w", err)
		}
	}
	return nil
}

// key names a module's entry: a digest of the artifact kind (a component
// and a core module are compiled into different, mutually unloadable
// artifacts), the engine's fingerprint and the module's bytes. It is a
// cryptographic hash because two modules that collide would run each
// other's code.
func key(cd codec, wasm []byte) string {
	h := sha256.New()
	h.Write([]byte(cd.kind()))
	h.Write([]byte{0})
	h.Write([]byte(cd.fingerprint()))
	h.Write([]byte{0})
	h.Write(wasm)
	return hex.EncodeToString(h.Sum(nil))
}

func (c *Cache) path(key, suffix string) string {
	return filepath.Join(c.dir, key+suffix)
}

// artifact returns wasm compiled by cd, from the cache when it can. Only a
// compile error (a bad module) is an error; a cache that does not work
// costs a compile and is reported in Stats.
func (c *Cache) artifact(cd codec, wasm []byte) (artifact, Stats, error) {
	st := Stats{Cache: CacheHit, Key: key(cd, wasm)}
	if a, err := c.load(cd, st.Key, &st); err == nil {
		return a, st, nil
	}
	start := time.Now()
	unlock, err := c.lock(st.Key)
	st.LockWait = time.Since(start)
	if err != nil {
		return c.compileUncached(cd, wasm, st, err)
	}
	defer unlock()
	// Whoever held the lock may have published the entry meanwhile; and
	// a bad entry goes now, so that it is not verified again and again
	// should publishing its replacement fail.
	a, err := c.load(cd, st.Key, &st)
	if err == nil {
		return a, st, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		st.Discarded = err
		_ = os.Remove(c.path(st.Key, entrySuffix))
	}
	return c.compileAndStore(cd, wasm, st)
}

func (c *Cache) compileUncached(cd codec, wasm []byte, st Stats, cacheErr error) (artifact, Stats, error) {
	st.Cache, st.CacheErr = CacheFailed, cacheErr
	return compileOnly(cd, wasm, st)
}

func compileOnly(cd codec, wasm []byte, st Stats) (artifact, Stats, error) {
	start := time.Now()
	a, err := cd.compile(wasm)
	st.Compile = time.Since(start)
	return a, st, err
}

// compileAndStore compiles, publishes, and then maps the published entry
// in place of the freshly compiled code, so that this task shares its pages
// with the tasks that load it later.
func (c *Cache) compileAndStore(cd codec, wasm []byte, st Stats) (artifact, Stats, error) {
	compiled, st, err := compileOnly(cd, wasm, st)
	if err != nil {
		return nil, st, err
	}
	if err := c.store(compiled, st.Key); err != nil {
		st.Cache, st.CacheErr = CacheFailed, err
		return compiled, st, nil
	}
	a, err := c.load(cd, st.Key, &st)
	if err != nil {
		st.Cache, st.CacheErr = CacheFailed, fmt.Errorf("load the entry just stored: %w", err)
		return compiled, st, nil
	}
	compiled.close()
	st.Cache = CacheMiss
	_ = c.Evict()
	return a, st, nil
}

func (c *Cache) store(a artifact, key string) error {
	bytes, err := a.serialize()
	if err != nil {
		return fmt.Errorf("serialize: %w", err)
	}
	return c.publish(key, bytes)
}

// load maps key's entry after checking it; a missing entry is
// os.ErrNotExist. It stores the time spent in st.Load.
func (c *Cache) load(cd codec, key string, st *Stats) (artifact, error) {
	start := time.Now()
	defer func() { st.Load += time.Since(start) }()
	f, err := os.Open(c.path(key, entrySuffix))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := verifyEntry(f, key); err != nil {
		return nil, err
	}
	// wasmtime opens the file by name: give it the one just verified,
	// not whatever the path names by now.
	a, err := cd.loadFile(openedPath(f))
	if err != nil {
		return nil, fmt.Errorf("wasmtime refused the cache entry: %s", firstLine(err.Error()))
	}
	touch(f)
	return a, nil
}

var procFDs = sync.OnceValue(func() bool {
	_, err := os.Stat("/proc/self/fd")
	return err == nil
})

func openedPath(f *os.File) string {
	if procFDs() {
		return fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	}
	return f.Name()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
