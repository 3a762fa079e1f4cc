package queue

// LossNotifier is implemented by queues that can tell when entries may have been lost: a Redis server that
// restarted without persistence or was flushed. The sweeper then enqueues every due run again at once instead of
// waiting for its next full sweep.
type LossNotifier interface {
	// Lost returns a channel that receives a value after each such event.
	Lost() <-chan struct{}
}
