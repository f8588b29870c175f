package tcp

import "sync"

// loopQueue runs tasks on the VU event loop, in the order they were pushed, from
// any goroutine. While it is open it holds exactly one event-loop reservation
// (vu.RegisterCallback), so the iteration cannot end; stop releases it.
//
// The reservation is renewed on the loop thread each time the queued tasks are
// drained, which is the only place RegisterCallback may be called from.
type loopQueue struct {
	register func() func(func() error) // vu.RegisterCallback; loop thread only

	mu      sync.Mutex
	slot    func(func() error) // unused reservation; nil while a drain is queued or after stop
	tasks   []func() error
	stopped bool
}

// newLoopQueue must be called on the loop thread.
func newLoopQueue(register func() func(func() error)) *loopQueue {
	return &loopQueue{register: register, slot: register()}
}

// push queues task; false when the queue is stopped (the task is dropped).
func (q *loopQueue) push(task func() error) bool {
	q.mu.Lock()
	if q.stopped {
		q.mu.Unlock()
		return false
	}
	q.tasks = append(q.tasks, task)
	slot := q.slot
	q.slot = nil
	q.mu.Unlock()
	if slot != nil {
		slot(q.drain)
	}
	return true
}

// stop queues final (may be nil) as the last task and releases the reservation
// once the queue is drained. With discard, pending tasks and final are dropped:
// used when the VU context is done and no JavaScript should run any more.
// Safe to call more than once and from any goroutine.
func (q *loopQueue) stop(final func() error, discard bool) {
	q.mu.Lock()
	if q.stopped {
		q.mu.Unlock()
		return
	}
	q.stopped = true
	if discard {
		q.tasks = nil
	} else if final != nil {
		q.tasks = append(q.tasks, final)
	}
	slot := q.slot
	q.slot = nil
	q.mu.Unlock()
	if slot != nil {
		slot(q.drain)
	}
}

// drain runs on the loop thread. An error from a task (a handler that threw)
// aborts the iteration, as an exception in a timer callback does.
func (q *loopQueue) drain() error {
	q.mu.Lock()
	tasks := q.tasks
	q.tasks = nil
	if !q.stopped {
		q.slot = q.register()
	}
	q.mu.Unlock()
	for _, task := range tasks {
		if err := task(); err != nil {
			return err
		}
	}
	return nil
}
