package shim

import (
	"context"

	taskv2 "github.com/containerd/containerd/api/runtime/task/v2"
	taskv3 "github.com/containerd/containerd/api/runtime/task/v3"
	ptypes "github.com/containerd/containerd/v2/pkg/protobuf/types"
	"google.golang.org/protobuf/proto"
)

var _ taskv3.TTRPCTaskService = (*serviceV3)(nil)

// serviceV3 serves task API v3, which containerd 2.x prefers, with the v2
// service: the two share every message's wire format, so each call is
// relayed by re-encoding.
type serviceV3 struct{ v2 *service }

type message[T any] interface {
	*T
	proto.Message
}

// relay converts a v3 request to v2, calls the v2 method and converts the
// v2 response back to v3.
func relay[Req2, Resp3 any, PReq2 message[Req2], PResp3 message[Resp3], Resp2 proto.Message](
	ctx context.Context, req proto.Message, call func(context.Context, PReq2) (Resp2, error),
) (PResp3, error) {
	in := PReq2(new(Req2))
	if err := convert(req, in); err != nil {
		return nil, err
	}
	out, err := call(ctx, in)
	if err != nil {
		return nil, err
	}
	resp := PResp3(new(Resp3))
	return resp, convert(out, resp)
}

func convert(from, to proto.Message) error {
	data, err := proto.Marshal(from)
	if err != nil {
		return err
	}
	return proto.Unmarshal(data, to)
}

func (s *serviceV3) State(ctx context.Context, r *taskv3.StateRequest) (*taskv3.StateResponse, error) {
	return relay[taskv2.StateRequest, taskv3.StateResponse](ctx, r, s.v2.State)
}

func (s *serviceV3) Create(ctx context.Context, r *taskv3.CreateTaskRequest) (*taskv3.CreateTaskResponse, error) {
	return relay[taskv2.CreateTaskRequest, taskv3.CreateTaskResponse](ctx, r, s.v2.Create)
}

func (s *serviceV3) Start(ctx context.Context, r *taskv3.StartRequest) (*taskv3.StartResponse, error) {
	return relay[taskv2.StartRequest, taskv3.StartResponse](ctx, r, s.v2.Start)
}

func (s *serviceV3) Delete(ctx context.Context, r *taskv3.DeleteRequest) (*taskv3.DeleteResponse, error) {
	return relay[taskv2.DeleteRequest, taskv3.DeleteResponse](ctx, r, s.v2.Delete)
}

func (s *serviceV3) Pids(ctx context.Context, r *taskv3.PidsRequest) (*taskv3.PidsResponse, error) {
	return relay[taskv2.PidsRequest, taskv3.PidsResponse](ctx, r, s.v2.Pids)
}

func (s *serviceV3) Pause(ctx context.Context, r *taskv3.PauseRequest) (*ptypes.Empty, error) {
	return relay[taskv2.PauseRequest, ptypes.Empty](ctx, r, s.v2.Pause)
}

func (s *serviceV3) Resume(ctx context.Context, r *taskv3.ResumeRequest) (*ptypes.Empty, error) {
	return relay[taskv2.ResumeRequest, ptypes.Empty](ctx, r, s.v2.Resume)
}

func (s *serviceV3) Checkpoint(ctx context.Context, r *taskv3.CheckpointTaskRequest) (*ptypes.Empty, error) {
	return relay[taskv2.CheckpointTaskRequest, ptypes.Empty](ctx, r, s.v2.Checkpoint)
}

func (s *serviceV3) Kill(ctx context.Context, r *taskv3.KillRequest) (*ptypes.Empty, error) {
	return relay[taskv2.KillRequest, ptypes.Empty](ctx, r, s.v2.Kill)
}

func (s *serviceV3) Exec(ctx context.Context, r *taskv3.ExecProcessRequest) (*ptypes.Empty, error) {
	return relay[taskv2.ExecProcessRequest, ptypes.Empty](ctx, r, s.v2.Exec)
}

func (s *serviceV3) ResizePty(ctx context.Context, r *taskv3.ResizePtyRequest) (*ptypes.Empty, error) {
	return relay[taskv2.ResizePtyRequest, ptypes.Empty](ctx, r, s.v2.ResizePty)
}

func (s *serviceV3) CloseIO(ctx context.Context, r *taskv3.CloseIORequest) (*ptypes.Empty, error) {
	return relay[taskv2.CloseIORequest, ptypes.Empty](ctx, r, s.v2.CloseIO)
}

func (s *serviceV3) Update(ctx context.Context, r *taskv3.UpdateTaskRequest) (*ptypes.Empty, error) {
	return relay[taskv2.UpdateTaskRequest, ptypes.Empty](ctx, r, s.v2.Update)
}

func (s *serviceV3) Wait(ctx context.Context, r *taskv3.WaitRequest) (*taskv3.WaitResponse, error) {
	return relay[taskv2.WaitRequest, taskv3.WaitResponse](ctx, r, s.v2.Wait)
}

func (s *serviceV3) Stats(ctx context.Context, r *taskv3.StatsRequest) (*taskv3.StatsResponse, error) {
	return relay[taskv2.StatsRequest, taskv3.StatsResponse](ctx, r, s.v2.Stats)
}

func (s *serviceV3) Connect(ctx context.Context, r *taskv3.ConnectRequest) (*taskv3.ConnectResponse, error) {
	return relay[taskv2.ConnectRequest, taskv3.ConnectResponse](ctx, r, s.v2.Connect)
}

func (s *serviceV3) Shutdown(ctx context.Context, r *taskv3.ShutdownRequest) (*ptypes.Empty, error) {
	return relay[taskv2.ShutdownRequest, ptypes.Empty](ctx, r, s.v2.Shutdown)
}
