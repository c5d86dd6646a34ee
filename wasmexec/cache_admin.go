package wasmexec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// CacheEntry is one compiled module in the cache.
type CacheEntry struct {
	Key  string
	Size int64
	// LastUsed is when a task last loaded the entry, to within a minute.
	LastUsed time.Time
}

// staleTemp is the age past which a temporary file is taken for the
// leftover of a writer that died; no compile takes that long.
const staleTemp = time.Hour

// List returns the entries, least recently used first.
func (c *Cache) List() ([]CacheEntry, error) {
	dirents, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, fmt.Errorf("list cache: %w", err)
	}
	var entries []CacheEntry
	for _, d := range dirents {
		k, ok := strings.CutSuffix(d.Name(), entrySuffix)
		if !ok || !d.Type().IsRegular() {
			continue
		}
		fi, err := d.Info()
		if err != nil {
			continue // evicted meanwhile
		}
		entries = append(entries, CacheEntry{Key: k, Size: fi.Size(), LastUsed: fi.ModTime()})
	}
	slices.SortFunc(entries, func(a, b CacheEntry) int { return a.LastUsed.Compare(b.LastUsed) })
	return entries, nil
}

// Evict removes least recently used entries until the cache is within its
// bound, and temporary files that dead writers left. One process evicts at
// a time; the others skip it, since the one at work sees their entries too.
func (c *Cache) Evict() error {
	l, err := os.OpenFile(filepath.Join(c.dir, evictLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("evict: %w", err)
	}
	defer l.Close()
	if err := syscall.Flock(int(l.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil
	}
	c.removeStaleTemps()
	entries, err := c.List()
	if err != nil {
		return err
	}
	var total int64
	for _, e := range entries {
		total += e.Size
	}
	for _, e := range entries {
		if total <= c.maxBytes {
			break
		}
		if err := os.Remove(c.path(e.Key, entrySuffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("evict %s: %w", e.Key, err)
		}
		total -= e.Size
	}
	return nil
}

func (c *Cache) removeStaleTemps() {
	matches, _ := filepath.Glob(filepath.Join(c.dir, tmpPrefix+"*"))
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && time.Since(fi.ModTime()) > staleTemp {
			_ = os.Remove(m)
		}
	}
}

// Wipe removes every entry, temporary and lock file, leaving the directory
// itself (it may be a mount point). Tasks that mapped an entry keep running;
// compiles under way finish and publish as usual.
func (c *Cache) Wipe() error {
	dirents, err := os.ReadDir(c.dir)
	if err != nil {
		return fmt.Errorf("wipe cache: %w", err)
	}
	for _, d := range dirents {
		if !isCacheFile(d.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(c.dir, d.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("wipe cache: %w", err)
		}
	}
	return nil
}

func isCacheFile(name string) bool {
	return strings.HasSuffix(name, entrySuffix) || strings.HasSuffix(name, lockSuffix) ||
		strings.HasPrefix(name, tmpPrefix) || name == evictLock
}

// Warm compiles the module or component file at path into the cache with
// the settings tasks use, so that the first task of it starts warm.
func (c *Cache) Warm(path string) (Stats, error) {
	wasm, kind, err := readModule(path)
	if err != nil {
		return Stats{}, err
	}
	cd := newCodec(kind)
	defer cd.close()
	a, st, err := c.artifact(cd, wasm)
	if err != nil {
		return st, fmt.Errorf("compile %s: %w", path, err)
	}
	a.close()
	if st.Cache == CacheFailed {
		return st, fmt.Errorf("cache %s: %w", path, st.CacheErr)
	}
	return st, nil
}
