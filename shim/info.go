package shim

import (
	"fmt"
	"io"

	"github.com/containerd/containerd/api/types"
	"github.com/containerd/containerd/v2/pkg/protobuf/proto"
)

// writeInfo answers containerd 2.x's "-info": the runtime's name and
// version as a RuntimeInfo protobuf.
func writeInfo(w io.Writer, v VersionInfo) error {
	info := &types.RuntimeInfo{
		Name:        RuntimeName,
		Version:     &types.RuntimeVersion{Version: v.Version},
		Annotations: map[string]string{"wasmtime.version": v.Wasmtime},
	}
	data, err := proto.Marshal(info)
	if err != nil {
		return fmt.Errorf("marshal runtime info: %w", err)
	}
	_, err = w.Write(data)
	return err
}
