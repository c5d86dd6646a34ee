package cgroups

import (
	"fmt"
	"path"
	"strings"
)

// Path turns a spec's linux.cgroupsPath into a path below the cgroup
// mount, the way runc reads it: a plain path is taken as is (relative paths
// are placed under /), and systemd's "slice:prefix:name" becomes the
// slice's nested directories and the unit's scope, as the systemd driver
// would lay them out. An empty path gets a default of our own.
func Path(cgroupsPath, namespace, id string) (string, error) {
	if cgroupsPath == "" {
		return path.Join("/containerd-shim-wasm", namespace, id), nil
	}
	if !strings.Contains(cgroupsPath, ":") {
		return path.Clean("/" + cgroupsPath), nil
	}
	parts := strings.Split(cgroupsPath, ":")
	if len(parts) != 3 {
		return "", fmt.Errorf("cgroups path %q: want a path or slice:prefix:name", cgroupsPath)
	}
	slice, err := expandSlice(parts[0])
	if err != nil {
		return "", fmt.Errorf("cgroups path %q: %w", cgroupsPath, err)
	}
	return path.Join(slice, unitName(parts[1], parts[2])), nil
}

// expandSlice maps "a-b-c.slice" to "/a.slice/a-b.slice/a-b-c.slice";
// "" means system.slice and "-.slice" the root, as in systemd.
func expandSlice(slice string) (string, error) {
	switch slice {
	case "":
		return "/system.slice", nil
	case "-.slice":
		return "/", nil
	}
	name, ok := strings.CutSuffix(slice, ".slice")
	if !ok || name == "" || strings.Contains(name, "/") || strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-") || strings.Contains(name, "--") {
		return "", fmt.Errorf("invalid slice name %q", slice)
	}
	var b strings.Builder
	prefix := ""
	for _, part := range strings.Split(name, "-") {
		prefix += part
		b.WriteString("/" + prefix + ".slice")
		prefix += "-"
	}
	return b.String(), nil
}

func unitName(prefix, name string) string {
	if strings.HasSuffix(name, ".slice") {
		return name
	}
	if prefix == "" {
		return name + ".scope"
	}
	return prefix + "-" + name + ".scope"
}
