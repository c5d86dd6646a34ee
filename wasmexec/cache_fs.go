package wasmexec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// lock takes key's compile lock: a flock on <key>.lock. flock belongs to
// the open file, so it excludes goroutines of one process as well as
// processes, and the kernel drops it when a holder dies. The holder
// removes the file before it lets go, so no lock files pile up; whoever
// then gets the lock on the removed file notices and starts over on a new
// one. The wait is a poll so that it can give up: a compile that is stuck
// (in a frozen cgroup, say) must not stall every task of that module.
func (c *Cache) lock(key string) (unlock func(), err error) {
	path := c.path(key, lockSuffix)
	deadline := time.Now().Add(c.lockWait)
	delay := time.Millisecond
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open compile lock: %w", err)
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil && isCurrent(f, path):
			return func() { _ = os.Remove(path); f.Close() }, nil
		case err == nil:
			f.Close()
			continue
		case !errors.Is(err, syscall.EWOULDBLOCK):
			f.Close()
			return nil, fmt.Errorf("take compile lock: %w", err)
		}
		f.Close()
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("gave up waiting %v for another compile of this module", c.lockWait)
		}
		time.Sleep(delay)
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// isCurrent says whether f is still the file at path.
func isCurrent(f *os.File, path string) bool {
	held, err := f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Stat(path)
	return err == nil && os.SameFile(held, now)
}

// publish writes an entry the way a reader may never see half of it: into
// a temporary file of the same directory, flushed, then renamed over the
// entry's name.
func (c *Cache) publish(key string, artifact []byte) error {
	tmp, err := os.CreateTemp(c.dir, tmpPrefix+key+"-*")
	if err != nil {
		return fmt.Errorf("create cache entry: %w", err)
	}
	err = writeEntry(tmp, artifact, key)
	if err == nil {
		err = os.Rename(tmp.Name(), c.path(key, entrySuffix))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write cache entry: %w", err)
	}
	return syncDir(c.dir)
}

func writeEntry(f *os.File, artifact []byte, key string) error {
	_, err := f.Write(artifact)
	if err == nil {
		_, err = f.Write(encodeTrailer(artifact, key))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes a rename durable, so that a crash cannot leave the name
// pointing nowhere.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync cache directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync cache directory: %w", err)
	}
	return nil
}

// touchEvery limits how often a hit rewrites its entry's mtime, the clock
// of LRU eviction: a start should not cost a metadata write each time.
const touchEvery = time.Minute

func touch(f *os.File) {
	fi, err := f.Stat()
	if err != nil || time.Since(fi.ModTime()) < touchEvery {
		return
	}
	now := syscall.NsecToTimeval(time.Now().UnixNano())
	_ = syscall.Futimes(int(f.Fd()), []syscall.Timeval{now, now})
}

func ownerOf(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
