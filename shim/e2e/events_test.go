package e2e

import (
	"slices"
	"testing"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/typeurl/v2"
)

// taskLifecycle is the order in which a run's task events must arrive.
var taskLifecycle = []string{"/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"}

// lifecycleOf keeps the task lifecycle topics, in order, out of topics.
func lifecycleOf(topics []string) []string {
	var out []string
	for _, tp := range topics {
		if slices.Contains(taskLifecycle, tp) {
			out = append(out, tp)
		}
	}
	return out
}

// TestEvents: the shim publishes create, start, exit and delete for a run,
// each once and in that order, as ctr events and the Go client see them.
func TestEvents(t *testing.T) {
	needDaemon(t)
	t.Run("ctr", func(t *testing.T) {
		w := watchEvents(t)
		id := containerID(t)
		if _, _, exit := runCtr(t, ctrRunArgs(id, nil, helloModule)...); exit != 0 {
			t.Fatalf("ctr run exit %d", exit)
		}
		isDelete := func(e event) bool { return e.topic == "/tasks/delete" && mentionsContainer(e, id) }
		if _, ok := w.wait(30*time.Second, isDelete); !ok {
			t.Errorf("no /tasks/delete for %s", id)
		}
		var topics []string
		for _, e := range w.forContainer(id) {
			topics = append(topics, e.topic)
		}
		if got := lifecycleOf(topics); !slices.Equal(got, taskLifecycle) {
			t.Errorf("task events %v, want %v (all events: %v)", got, taskLifecycle, topics)
		}
	})
	t.Run("client", func(t *testing.T) {
		c, ctx := newClient(t)
		envelopes, errs := c.Subscribe(ctx, "namespace=="+suite.daemon.ns)
		next := func() *events.Envelope {
			select {
			case env := <-envelopes:
				return env
			case err := <-errs:
				t.Fatalf("subscription: %v", err)
			case <-time.After(30 * time.Second):
			}
			return nil
		}
		// The stream is live once it carries an event the test caused.
		label := "e2e-sync=client"
		if _, errOut, code := suite.daemon.ctrCmd(nil, nil, "namespaces", "label", suite.daemon.ns, label); code != 0 {
			t.Fatalf("ctr namespaces label: %s", errOut)
		}
		for env := next(); env == nil || env.Topic != "/namespaces/update"; env = next() {
			if env == nil {
				t.Fatal("the subscription delivered nothing")
			}
		}
		id := containerID(t)
		if r := runGoID(t, id, []string{helloModule}, nil, nil); r.exit != 0 {
			t.Fatalf("exit %d", r.exit)
		}
		var topics []string
		for !slices.Contains(topics, "/tasks/delete") {
			env := next()
			if env == nil {
				t.Fatalf("no /tasks/delete for %s; saw %v", id, topics)
			}
			v, err := typeurl.UnmarshalAny(env.Event)
			if err != nil {
				t.Fatalf("event %s: %v", env.Topic, err)
			}
			if eventContainer(v) == id {
				topics = append(topics, env.Topic)
			}
		}
		if got := lifecycleOf(topics); !slices.Equal(got, taskLifecycle) {
			t.Errorf("task events %v, want %v", got, taskLifecycle)
		}
	})
}

func eventContainer(v any) string {
	switch e := v.(type) {
	case *apievents.TaskCreate:
		return e.ContainerID
	case *apievents.TaskStart:
		return e.ContainerID
	case *apievents.TaskExit:
		return e.ContainerID
	case *apievents.TaskDelete:
		return e.ContainerID
	}
	return ""
}
