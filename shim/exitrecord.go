package shim

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/containerd/log"
)

// exitRecord is written to the bundle when a task's init exits, so that the
// delete action can report the real status after the shim died.
type exitRecord struct {
	Pid      int   `json:"pid"`
	Status   int   `json:"status"`
	ExitedAt int64 `json:"exitedAt"`
}

func readExitRecord(bundle string) (exitRecord, error) {
	var r exitRecord
	data, err := os.ReadFile(filepath.Join(bundle, exitFile))
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(data, &r)
}

func writeExitRecord(bundle string, r exitRecord) {
	data, err := json.Marshal(r)
	if err == nil {
		err = os.WriteFile(filepath.Join(bundle, exitFile), data, 0o600)
	}
	if err != nil {
		log.L.WithError(err).Warn("record exit status")
	}
}
