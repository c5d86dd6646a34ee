package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// expectSecondRunHits runs `ctr` with args(id) twice, for two new ids, and
// checks that the shim logged a cache hit for the second.
func expectSecondRunHits(t *testing.T, args func(id string) []string) {
	t.Helper()
	var ids []string
	for i := 0; i < 2; i++ {
		id := containerID(t)
		if _, errOut, exit := runCtr(t, args(id)...); exit != 0 {
			t.Fatalf("run %d: %s", i, errOut)
		}
		ids = append(ids, id)
	}
	log, err := os.ReadFile(suite.daemon.Log)
	if err != nil {
		t.Fatal(err)
	}
	hit := regexp.MustCompile(`ready: cache hit .*id=` + regexp.QuoteMeta(ids[1]) + `\b`)
	if !hit.Match(log) {
		t.Errorf("no cache hit logged for the second run (%s)", ids[1])
	}
}

// TestCompileCache: the second run of a module loads its machine code from
// the suite's compile cache, and says so in the shim's log.
func TestCompileCache(t *testing.T) {
	needDaemon(t)
	expectSecondRunHits(t, func(id string) []string { return ctrRunArgs(id, nil, "/hello.wasm") })
	entries, _ := filepath.Glob(filepath.Join(suite.daemon.CacheDir, "*.cwasm"))
	if len(entries) == 0 {
		t.Errorf("no entries in the suite's cache directory")
	}
}
