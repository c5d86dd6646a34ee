package privatecontainerd

import (
	"errors"
	"os"
	"path/filepath"
)

// RepoRoot walks up from the working directory to the folder with go.mod:
// the repository, whose bin/ holds the daemons, wherever a test or a
// command runs from inside it.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run from inside the repository")
		}
		dir = parent
	}
}
