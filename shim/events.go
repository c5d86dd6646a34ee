package shim

import (
	"context"
	"time"

	"github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/log"
)

// event is one message for containerd's event service.
type event struct {
	topic string
	body  events.Event
}

// eventQueue sends events in the order they were queued, from one
// goroutine, so that a slow containerd never blocks a task operation and
// exit never overtakes start.
type eventQueue struct {
	ch   chan event
	done chan struct{} // closed when the queue is drained after close
}

func newEventQueue(ctx context.Context, pub events.Publisher) *eventQueue {
	q := &eventQueue{ch: make(chan event, 128), done: make(chan struct{})}
	go q.drain(ctx, pub)
	return q
}

func (q *eventQueue) send(topic string, body events.Event) {
	q.ch <- event{topic: topic, body: body}
}

func (q *eventQueue) drain(ctx context.Context, pub events.Publisher) {
	defer close(q.done)
	for e := range q.ch {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if err := pub.Publish(pctx, e.topic, e.body); err != nil {
			log.G(ctx).WithError(err).WithField("topic", e.topic).Error("publish event")
		}
		cancel()
	}
}

// close stops taking events and waits up to timeout for the queue to empty.
func (q *eventQueue) close(timeout time.Duration) {
	close(q.ch)
	select {
	case <-q.done:
	case <-time.After(timeout):
	}
}
