package shim

import (
	"context"
	"sync"
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
// goroutine. send never blocks: the queue grows while containerd is slow,
// so a slow containerd never stalls a task operation, and send may be
// called under a process's state lock, which orders exit after start.
type eventQueue struct {
	wake chan struct{} // holds a token when events wait for the drainer
	done chan struct{} // closed when the queue is drained after close

	mu      sync.Mutex // guards pending and closed
	pending []event
	closed  bool
}

func newEventQueue(ctx context.Context, pub events.Publisher) *eventQueue {
	q := &eventQueue{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go q.drain(ctx, pub)
	return q
}

// send queues an event; after close, it is dropped.
func (q *eventQueue) send(topic string, body events.Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		log.L.WithField("topic", topic).Warn("event after shutdown dropped")
		return
	}
	q.pending = append(q.pending, event{topic: topic, body: body})
	q.signal()
}

func (q *eventQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take returns the events queued so far, and whether the queue is closed.
func (q *eventQueue) take() ([]event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	batch := q.pending
	q.pending = nil
	return batch, q.closed
}

func (q *eventQueue) drain(ctx context.Context, pub events.Publisher) {
	defer close(q.done)
	for {
		batch, closed := q.take()
		for _, e := range batch {
			publish(ctx, pub, e)
		}
		if len(batch) == 0 && closed {
			return
		}
		if len(batch) == 0 {
			<-q.wake
		}
	}
}

func publish(ctx context.Context, pub events.Publisher, e event) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := pub.Publish(ctx, e.topic, e.body); err != nil {
		log.G(ctx).WithError(err).WithField("topic", e.topic).Error("publish event")
	}
}

// close stops taking events and waits up to timeout for the queue to
// empty; closing twice waits again.
func (q *eventQueue) close(timeout time.Duration) {
	q.mu.Lock()
	q.closed = true
	q.signal()
	q.mu.Unlock()
	select {
	case <-q.done:
	case <-time.After(timeout):
	}
}
