package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// applyWrites writes ws in order into the directory dirOf names for each
// write's controller. A write marked retry that the kernel refuses with
// EINVAL is tried again after the others; an optional one whose file the
// kernel lacks is skipped, as is one whose v1 hierarchy the host does not
// mount. A limit for a hierarchy the host does not mount is an error, as
// in runc.
func applyWrites(dirOf func(ctrl string) (string, bool), ws []write) error {
	var again []write
	for _, w := range ws {
		dir, ok := dirOf(w.ctrl)
		if !ok {
			if w.optional {
				continue
			}
			return fmt.Errorf("cannot set %s: the host has no %s cgroup", w.file, w.ctrl)
		}
		err := w.apply(dir)
		if w.retry && errors.Is(err, unix.EINVAL) {
			again = append(again, w)
			continue
		}
		if err != nil {
			return err
		}
	}
	for _, w := range again {
		dir, _ := dirOf(w.ctrl)
		if err := w.apply(dir); err != nil {
			return err
		}
	}
	return nil
}

func (w write) apply(dir string) error {
	err := writeLines(filepath.Join(dir, w.file), w.value)
	switch {
	case errors.Is(err, os.ErrNotExist) && w.alt != nil:
		return w.alt.apply(dir)
	case errors.Is(err, os.ErrNotExist) && w.optional:
		return nil
	case err != nil:
		return fmt.Errorf("set %s to %q: %w", w.file, w.value, err)
	case w.readBack:
		return w.checkKept(dir)
	}
	return nil
}

// checkKept fails when the kernel clamped the value just written: runc
// reports cpu.shares out of range rather than run with another weight.
func (w write) checkKept(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, w.file))
	if err != nil {
		return fmt.Errorf("read back %s: %w", w.file, err)
	}
	kept := strings.TrimSpace(string(data))
	if kept == w.value {
		return nil
	}
	want, err1 := strconv.ParseUint(w.value, 10, 64)
	got, err2 := strconv.ParseUint(kept, 10, 64)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("%s is %q after writing %q", w.file, kept, w.value)
	}
	if want > got {
		return fmt.Errorf("%s %d: the maximum allowed is %d", w.file, want, got)
	}
	return fmt.Errorf("%s %d: the minimum allowed is %d", w.file, want, got)
}

// writeLines writes value to a cgroup file that must exist, one write per
// line: the kernel parses one entry per write (io.max, net_prio.ifpriomap
// given several devices in a unified value).
func writeLines(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	for line := range strings.Lines(value) {
		if _, err := f.WriteString(line); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
