package shim

import (
	"context"
	"testing"

	taskv2 "github.com/containerd/containerd/api/runtime/task/v2"
	taskv3 "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/containerd/errdefs"
)

func TestRelayCarriesRequestAndResponse(t *testing.T) {
	call := func(ctx context.Context, r *taskv2.StateRequest) (*taskv2.StateResponse, error) {
		return &taskv2.StateResponse{ID: r.ID, ExecID: r.ExecID, Pid: 42, Stdout: "/fifo"}, nil
	}
	got, err := relay[taskv2.StateRequest, taskv3.StateResponse](context.Background(), &taskv3.StateRequest{ID: "c", ExecID: "e"}, call)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "c" || got.ExecID != "e" || got.Pid != 42 || got.Stdout != "/fifo" {
		t.Fatalf("relayed response = %+v", got)
	}
}

func TestRelayKeepsErrorClass(t *testing.T) {
	v3 := &serviceV3{newService(context.Background(), nil, nil, func() {})}
	_, err := v3.State(context.Background(), &taskv3.StateRequest{ID: "missing"})
	if !errdefs.IsNotFound(err) {
		t.Fatalf("error = %v, want NotFound", err)
	}
	_, err = v3.Checkpoint(context.Background(), &taskv3.CheckpointTaskRequest{ID: "missing"})
	if !errdefs.IsNotImplemented(err) {
		t.Fatalf("Checkpoint error = %v, want NotImplemented", err)
	}
}
