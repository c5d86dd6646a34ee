package wasmexec

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// exitModule is a module whose _start exits with status: distinct statuses
// make distinct modules of one shape and size.
func exitModule(t *testing.T, status int) string {
	return writeWat(t, fmt.Sprintf(`(module %s (func (export "_start") (call $exit (i32.const %d))))`, procExit, status))
}

func openTestCache(t *testing.T, maxBytes int64) *Cache {
	t.Helper()
	c, err := OpenCache(filepath.Join(t.TempDir(), "cache"), maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// prepareAndRun prepares the module through the cache in dir, runs it,
// and checks its exit status.
func prepareAndRun(t *testing.T, dir, module string, want int) Stats {
	t.Helper()
	prog, err := Prepare(Config{ModulePath: module, Args: []string{"m.wasm"}, CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if got := prog.Run(&stderr); got != want {
		t.Fatalf("status = %d, want %d (stderr %q)", got, want, stderr.String())
	}
	return prog.Stats()
}

func wantOutcome(t *testing.T, st Stats, want CacheOutcome) {
	t.Helper()
	if st.Cache != want {
		t.Fatalf("cache outcome = %q, want %q (stats %+v)", st.Cache, want, st)
	}
}

func TestCacheMissThenHit(t *testing.T) {
	c := openTestCache(t, 0)
	module := exitModule(t, 7)
	miss := prepareAndRun(t, c.Dir(), module, 7)
	wantOutcome(t, miss, CacheMiss)
	if miss.Compile == 0 || miss.Key == "" {
		t.Fatalf("a miss reports no compile time or key: %+v", miss)
	}
	// The hit maps the entry with its trailer as it is on disk: wasmtime
	// must keep ignoring bytes after the ELF image.
	hit := prepareAndRun(t, c.Dir(), module, 7)
	wantOutcome(t, hit, CacheHit)
	if hit.Compile != 0 || hit.Key != miss.Key || hit.Discarded != nil {
		t.Fatalf("hit stats = %+v, miss stats = %+v", hit, miss)
	}
	entries, err := c.List()
	if err != nil || len(entries) != 1 || entries[0].Key != miss.Key {
		t.Fatalf("entries = %+v, %v", entries, err)
	}
}

func TestCacheOff(t *testing.T) {
	st := prepareAndRun(t, "", exitModule(t, 3), 3)
	wantOutcome(t, st, CacheOff)
}

func TestBadModuleIsNotCached(t *testing.T) {
	c := openTestCache(t, 0)
	bad := writeWat(t, `(module (import "wasi_snapshot_preview1" "not_a_real_function" (func)) (func (export "_start")))`)
	if _, err := Prepare(Config{ModulePath: bad, CacheDir: c.Dir()}); err == nil {
		t.Fatal("no error")
	}
	invalid := writeBytes(t, []byte("\x00asm\x01\x00\x00\x00\x01\x05"))
	if _, err := Prepare(Config{ModulePath: invalid, CacheDir: c.Dir()}); err == nil || !strings.Contains(err.Error(), "compile") {
		t.Fatalf("error = %v", err)
	}
	dirents, _ := os.ReadDir(c.Dir())
	for _, d := range dirents {
		if d.Name() != evictLock && !strings.HasSuffix(d.Name(), entrySuffix) {
			t.Errorf("left behind: %s", d.Name())
		}
	}
}

// TestCorruptEntryIsRecompiled damages a stored entry in every way a crash
// or a disk can, and checks that the task still runs, from fresh code, and
// that the entry is replaced.
func TestCorruptEntryIsRecompiled(t *testing.T) {
	tests := []struct {
		name         string
		damage       func(t *testing.T, entry []byte) []byte
		wantChecksum bool // caught by our trailer, not by wasmtime
	}{
		{name: "byte flipped in the code", damage: func(t *testing.T, b []byte) []byte { b[len(b)/2] ^= 0x40; return b }, wantChecksum: true},
		{name: "byte flipped in the ELF header", damage: func(t *testing.T, b []byte) []byte { b[5] ^= 1; return b }, wantChecksum: true},
		{name: "checksum flipped", damage: func(t *testing.T, b []byte) []byte { b[len(b)-trailerSize+12] ^= 1; return b }, wantChecksum: true},
		{name: "truncated to half", damage: func(t *testing.T, b []byte) []byte { return b[:len(b)/2] }, wantChecksum: true},
		{name: "trailer cut off", damage: func(t *testing.T, b []byte) []byte { return b[:len(b)-trailerSize] }, wantChecksum: true},
		{name: "one byte short", damage: func(t *testing.T, b []byte) []byte { return b[:len(b)-1] }, wantChecksum: true},
		{name: "empty", damage: func(t *testing.T, b []byte) []byte { return nil }, wantChecksum: true},
		{name: "garbage appended", damage: func(t *testing.T, b []byte) []byte { return append(b, "garbage"...) }, wantChecksum: true},
		{name: "another module's entry under this name", damage: func(t *testing.T, b []byte) []byte {
			return storedEntry(t, exitModule(t, 9))
		}, wantChecksum: true},
		{name: "valid trailer over bytes wasmtime refuses", damage: func(t *testing.T, b []byte) []byte {
			k := b[len(b)-8:]
			junk := []byte("\x7fELF but not really an artifact")
			return append(junk, encodeTrailer(junk, string(k))...)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := openTestCache(t, 0)
			module := exitModule(t, 5)
			st := prepareAndRun(t, c.Dir(), module, 5)
			entry := c.path(st.Key, entrySuffix)
			b, err := os.ReadFile(entry)
			if err != nil {
				t.Fatal(err)
			}
			replaceFile(t, entry, tc.damage(t, b))
			st = prepareAndRun(t, c.Dir(), module, 5)
			wantOutcome(t, st, CacheMiss)
			if st.Discarded == nil || errors.Is(st.Discarded, errCorrupt) != tc.wantChecksum {
				t.Fatalf("discarded = %v, want it caught by the checksum: %v", st.Discarded, tc.wantChecksum)
			}
			wantOutcome(t, prepareAndRun(t, c.Dir(), module, 5), CacheHit)
		})
	}
}

// replaceFile puts a new file at path. Writing in place would truncate the
// file under the mapping that the first task still holds, and a process
// touching a mapped page past the end of its file dies of SIGBUS: that is
// why the cache itself never writes an entry in place.
func replaceFile(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// storedEntry is the cache entry of module, from a cache of its own.
func storedEntry(t *testing.T, module string) []byte {
	c := openTestCache(t, 0)
	st := prepareAndRun(t, c.Dir(), module, 9)
	b, err := os.ReadFile(c.path(st.Key, entrySuffix))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// slowCodec counts the compiles of the codec it wraps and makes each one
// last long enough for every contender to arrive while it runs.
type slowCodec struct {
	codec
	compiles *atomic.Int32
}

func (s slowCodec) compile(wasm []byte) (artifact, error) {
	s.compiles.Add(1)
	time.Sleep(200 * time.Millisecond)
	return s.codec.compile(wasm)
}

func TestConcurrentCompileOfOneModuleInOneProcess(t *testing.T) {
	const tasks = 8
	dir := openTestCache(t, 0).Dir()
	wasm, _, err := readModule(exitModule(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	var compiles atomic.Int32
	outcomes := make(chan CacheOutcome, tasks)
	var ready, wg sync.WaitGroup
	ready.Add(tasks)
	start := make(chan struct{})
	for range tasks {
		wg.Go(func() {
			c, err := OpenCache(dir, 0) // as separate tasks do
			if err != nil {
				t.Error(err)
				ready.Done()
				return
			}
			cd := slowCodec{newCompiler(defaultSettings), &compiles}
			defer cd.close()
			ready.Done()
			<-start
			a, st, err := c.artifact(cd, wasm)
			if err != nil {
				t.Error(err)
				return
			}
			a.close()
			outcomes <- st.Cache
		})
	}
	ready.Wait()
	close(start)
	wg.Wait()
	close(outcomes)
	counts := map[CacheOutcome]int{}
	for o := range outcomes {
		counts[o]++
	}
	if compiles.Load() != 1 || counts[CacheMiss] != 1 || counts[CacheHit] != tasks-1 {
		t.Fatalf("%d compiles, outcomes %v; want 1 compile, 1 miss, %d hits", compiles.Load(), counts, tasks-1)
	}
}

const helperEnv = "WASMEXEC_CACHE_HELPER"

// TestConcurrentCompileOfOneModuleAcrossProcesses starts several copies of
// the test binary, as many shims would start task children, and lets them
// go at once.
func TestConcurrentCompileOfOneModuleAcrossProcesses(t *testing.T) {
	const procs = 4
	dir := openTestCache(t, 0).Dir()
	module := exitModule(t, 6)
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	var gates []*os.File
	for range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCacheHelperProcess$")
		cmd.Env = append(os.Environ(), helperEnv+"="+dir+":"+module)
		gate, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		out := new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs, gates = append(cmds, cmd), append(outs, out), append(gates, gate.(*os.File))
	}
	for _, g := range gates {
		g.Close() // EOF on stdin: go
	}
	counts := map[string]int{}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v\n%s", i, err, outs[i])
		}
		_, said, ok := strings.Cut(outs[i].String(), "outcome=")
		if !ok {
			t.Fatalf("helper %d said %q", i, outs[i])
		}
		counts[strings.Fields(said)[0]]++
	}
	if counts["miss"] != 1 || counts["hit"] != procs-1 {
		t.Fatalf("outcomes %v; want one process to compile and %d to hit", counts, procs-1)
	}
}

// TestCacheHelperProcess is the body of the processes started above.
func TestCacheHelperProcess(t *testing.T) {
	arg := os.Getenv(helperEnv)
	if arg == "" {
		t.Skip("helper process only")
	}
	dir, module, _ := strings.Cut(arg, ":")
	wasm, _, err := readModule(module)
	if err != nil {
		t.Fatal(err)
	}
	c, err := OpenCache(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	cd := slowCodec{newCompiler(defaultSettings), &n}
	defer cd.close()
	_, _ = bufio.NewReader(os.Stdin).ReadByte() // wait for the gate
	a, st, err := c.artifact(cd, wasm)
	if err != nil {
		t.Fatal(err)
	}
	a.close()
	fmt.Printf("\noutcome=%s\n", st.Cache)
}

func setAge(t *testing.T, path string, age time.Duration) {
	t.Helper()
	when := time.Now().Add(-age)
	if err := os.Chtimes(path, when, when); err != nil {
		t.Fatal(err)
	}
}

func TestEvictionAtTheBound(t *testing.T) {
	big := openTestCache(t, 0)
	a := prepareAndRun(t, big.Dir(), exitModule(t, 1), 1)
	b := prepareAndRun(t, big.Dir(), exitModule(t, 2), 2)
	setAge(t, big.path(a.Key, entrySuffix), 3*time.Hour)
	setAge(t, big.path(b.Key, entrySuffix), 2*time.Hour)
	// A hit makes a the most recently used, so b is now the oldest.
	wantOutcome(t, prepareAndRun(t, big.Dir(), exitModule(t, 1), 1), CacheHit)

	entries, _ := big.List()
	one := entries[0].Size
	bounded, err := OpenCache(big.Dir(), 2*one+one/2)
	if err != nil {
		t.Fatal(err)
	}
	cst, err := bounded.Warm(exitModule(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	entries, _ = bounded.List()
	var keys []string
	for _, e := range entries {
		keys = append(keys, e.Key)
	}
	// a and c were both used just now, in an order that the file system's
	// coarse clock may not tell apart.
	slices.Sort(keys)
	want := []string{a.Key, cst.Key}
	slices.Sort(want)
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("entries after eviction = %v, want %v (b = %s evicted)", keys, want, b.Key)
	}
}

func TestEvictionRemovesStaleTemporaryFiles(t *testing.T) {
	c := openTestCache(t, 0)
	stale, fresh := filepath.Join(c.Dir(), tmpPrefix+"stale"), filepath.Join(c.Dir(), tmpPrefix+"fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("half an entry"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	setAge(t, stale, 2*staleTemp)
	if err := c.Evict(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a writer's temporary file was removed: %v", err)
	}
}

// TestKeyCoversEverySetting flips each field of settings in turn: each
// must change the key, so a setting added later cannot share entries with
// code compiled without it.
func TestKeyCoversEverySetting(t *testing.T) {
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	base := key(&compiler{settings: defaultSettings}, wasm)
	if again := key(&compiler{settings: defaultSettings}, wasm); again != base {
		t.Fatalf("key is not stable: %s, %s", base, again)
	}
	if other := key(&compiler{settings: defaultSettings}, append(wasm, 0)); other == base {
		t.Fatal("key ignores the module's bytes")
	}
	typ := reflect.TypeFor[settings]()
	for i := range typ.NumField() {
		t.Run(typ.Field(i).Name, func(t *testing.T) {
			s := defaultSettings
			f := reflect.ValueOf(&s).Elem().Field(i)
			switch {
			case f.Kind() == reflect.Bool:
				f.SetBool(!f.Bool())
			case f.CanInt():
				f.SetInt(f.Int() + 1)
			case f.CanUint():
				f.SetUint(f.Uint() + 1)
			default:
				t.Fatalf("teach this test to change a %s", f.Kind())
			}
			if key(&compiler{settings: s}, wasm) == base {
				t.Fatalf("changing %s leaves the key unchanged", typ.Field(i).Name)
			}
		})
	}
}

func TestWarmThenTaskHits(t *testing.T) {
	c := openTestCache(t, 0)
	module := exitModule(t, 8)
	st, err := c.Warm(module)
	if err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, st, CacheMiss)
	again, err := c.Warm(module)
	if err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, again, CacheHit)
	wantOutcome(t, prepareAndRun(t, c.Dir(), module, 8), CacheHit)
	if _, err := c.Warm(writeBytes(t, []byte("#!/bin/sh\n"))); !errors.Is(err, ErrNotWasm) {
		t.Fatalf("warm of a script: %v", err)
	}
}

func TestWipe(t *testing.T) {
	c := openTestCache(t, 0)
	module := exitModule(t, 2)
	prepareAndRun(t, c.Dir(), module, 2)
	prepareAndRun(t, c.Dir(), exitModule(t, 3), 3)
	if err := os.WriteFile(filepath.Join(c.Dir(), "not-ours"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Wipe(); err != nil {
		t.Fatal(err)
	}
	dirents, _ := os.ReadDir(c.Dir())
	if len(dirents) != 1 || dirents[0].Name() != "not-ours" {
		t.Fatalf("after wipe: %v", dirents)
	}
	wantOutcome(t, prepareAndRun(t, c.Dir(), module, 2), CacheMiss)
}

func TestOpenCacheDirectory(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T) string
		wantErr  string
		wantMode os.FileMode
	}{
		{name: "created private", setup: func(t *testing.T) string { return filepath.Join(t.TempDir(), "a", "b") }, wantMode: 0o700},
		{name: "world-writable one of ours is made private", setup: func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), "c")
			if err := os.Mkdir(d, 0o777); err != nil {
				t.Fatal(err)
			}
			return d
		}, wantMode: 0o700},
		{name: "relative path", setup: func(t *testing.T) string { return "cache" }, wantErr: "not an absolute path"},
		{name: "a file", setup: func(t *testing.T) string { return writeBytes(t, nil) }, wantErr: "not a directory"},
		{name: "another user's", setup: func(t *testing.T) string {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give a directory away")
			}
			d := filepath.Join(t.TempDir(), "c")
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(d, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return d
		}, wantErr: "belongs to uid 65534"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.setup(t)
			_, err := OpenCache(dir, 0)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(dir)
			if err != nil || fi.Mode().Perm() != tc.wantMode {
				t.Fatalf("mode = %v, %v; want %v", fi.Mode().Perm(), err, tc.wantMode)
			}
		})
	}
}

// TestBrokenCacheNeverFailsATask: an unusable directory, one that vanished
// under us, and a compile lock that is never released all cost a compile,
// never the task.
func TestBrokenCacheNeverFailsATask(t *testing.T) {
	module := exitModule(t, 4)
	t.Run("unusable directory", func(t *testing.T) {
		st := prepareAndRun(t, writeBytes(t, nil), module, 4)
		wantOutcome(t, st, CacheFailed)
		if st.CacheErr == nil {
			t.Fatal("no reason given")
		}
	})
	t.Run("directory removed", func(t *testing.T) {
		c := openTestCache(t, 0)
		if err := os.RemoveAll(c.Dir()); err != nil {
			t.Fatal(err)
		}
		wasm, _, _ := readModule(module)
		comp := newCompiler(defaultSettings)
		defer comp.close()
		a, st, err := c.artifact(comp, wasm)
		if err != nil {
			t.Fatal(err)
		}
		a.close()
		wantOutcome(t, st, CacheFailed)
	})
	t.Run("lock held forever", func(t *testing.T) {
		c := openTestCache(t, 0)
		c.lockWait = 50 * time.Millisecond
		wasm, _, _ := readModule(module)
		comp := newCompiler(defaultSettings)
		defer comp.close()
		holder, err := os.Create(c.path(key(comp, wasm), lockSuffix))
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Close()
		if err := syscall.Flock(int(holder.Fd()), syscall.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		a, st, err := c.artifact(comp, wasm)
		if err != nil {
			t.Fatal(err)
		}
		a.close()
		wantOutcome(t, st, CacheFailed)
		if !strings.Contains(st.CacheErr.Error(), "gave up") {
			t.Fatalf("cache error = %v", st.CacheErr)
		}
	})
}
