// Package redisq is the queue of distributed mode: run ids in Redis Streams, read by a consumer group shared by
// every worker process. Due entries live in a stream, delayed ones in a sorted set that a mover in every process
// drains into the stream as they come due. An entry a worker received but never acknowledged (the worker died)
// is claimed by another worker after the visibility timeout; one that keeps coming back is moved to a
// dead-letter stream after MaxDeliveries, since the store still has the run and the sweeper will find it.
//
// The queue survives Redis restarts and flushes: every background loop retries with backoff, and the consumer
// group is recreated when Redis no longer knows it. Health reports the last error while that is going on.
package redisq

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferry-hq/ferry/server/queue"
)

// Defaults for the zero values of Options, exported so configuration and documentation can show them.
const (
	// DefaultPrefix namespaces the queue's keys when Options.Prefix is empty.
	DefaultPrefix = "ferry:q"
	// DefaultGroup is the consumer group all worker processes share when Options.Group is empty.
	DefaultGroup = "ferry-workers"
	// DefaultVisibilityTimeout is how long an entry may stay unacknowledged before another consumer claims it.
	DefaultVisibilityTimeout = 60 * time.Second
	// DefaultMaxDeliveries is how many unacknowledged deliveries an entry gets before it is dead-lettered.
	DefaultMaxDeliveries = 10
	// DefaultMoveInterval is how often the mover polls for delayed entries enqueued by other processes.
	DefaultMoveInterval = 250 * time.Millisecond
)

const (
	// batchChunk is how many entries one enqueue script call handles; larger batches are pipelined in chunks
	// so that no single script holds Redis for long.
	batchChunk = 1000
	// moveLimit is how many due entries one mover call moves; a full move is followed at once by another.
	moveLimit = 1000
	// maxFetch bounds how many entries one read takes, however many receivers wait.
	maxFetch = 64
	// maxBlock bounds one XREADGROUP so the fetcher regularly gets to reclaim and notice Close.
	maxBlock = 2 * time.Second
	// deadMaxLen approximately caps the dead-letter stream; it is a diagnostic trail, the store has the runs.
	deadMaxLen = 10000
	// pruneEvery is how often a process deletes consumer names left behind by processes that have gone.
	pruneEvery = 10 * time.Minute
	// backoffMin and backoffMax bound the wait between attempts while Redis fails.
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
)

// Options configures a Queue. Only Client is required.
type Options struct {
	// Client is the Redis connection the queue uses. The application owns it: Close does not close it. One
	// blocking read per process is in flight at a time, so the pool needs no more than one connection for it.
	Client redis.UniversalClient
	// Prefix namespaces the queue's keys (default "ferry:q"). Unless it already contains a "{", it is wrapped in
	// a hash tag so the keys share a Redis Cluster slot: "ferry:q" gives "{ferry:q}:stream" and so on.
	Prefix string
	// Group is the consumer group every worker process joins (default "ferry-workers").
	Group string
	// Consumer names this process within the group and must be unique per process (default: host name,
	// process id and a random suffix). Entries a consumer received and did not acknowledge stay attributed to
	// it until another consumer claims them.
	Consumer string
	// VisibilityTimeout is how long a received entry may stay unacknowledged before another consumer may claim
	// it (default 60s). It should exceed the time a worker needs to claim the run in the store.
	VisibilityTimeout time.Duration
	// MaxDeliveries is how many times an entry is delivered without an acknowledgement before it is moved to
	// the dead-letter stream (default 10). The run itself stays in the store.
	MaxDeliveries int
	// MaxLen approximately caps the stream of due entries (0: no cap). Acknowledged entries are deleted, so the
	// stream holds only the backlog and entries in flight; a cap bounds Redis memory during a huge backlog at the
	// cost of dropping its oldest entries, which the sweeper then re-enqueues from the store.
	MaxLen int64
	// MoveInterval is how often the mover looks for delayed entries that came due (default 250ms). Delayed
	// entries enqueued by this process wake the mover at their due time, so the interval matters only for entries
	// enqueued by other processes.
	MoveInterval time.Duration
	// Logger receives reconnects, recoveries and dead-lettered entries (default slog.Default()).
	Logger *slog.Logger
}

// Queue is a queue.Queue on Redis Streams, shared by the API and worker processes of a distributed deployment
// so that any worker can execute any run. It is safe for concurrent use.
type Queue struct {
	client   redis.UniversalClient
	group    string
	consumer string
	vt       time.Duration
	maxDeliv int
	maxLen   int64
	moveIvl  time.Duration
	log      *slog.Logger

	stream, delayed, waiting, dead string

	reclaimEvery time.Duration // how often the fetcher looks for entries idle longer than vt
	block        time.Duration // how long one XREADGROUP may block

	ctx       context.Context // ends at Close; used by the background loops
	cancel    context.CancelFunc
	closed    atomic.Bool
	closeCh   chan struct{}
	closeOnce sync.Once
	moverDone chan struct{}

	// busy is held by the fetcher around commands that may create keys, so that none runs after Close returns.
	busy sync.Mutex

	wakeMu sync.Mutex
	wakeAt time.Time     // earliest due time of a delayed entry enqueued here since the mover last looked
	wake   chan struct{} // signals the mover that wakeAt moved

	fetchOnce sync.Once
	demand    chan struct{} // signals the fetcher that a receiver started waiting
	mu        sync.Mutex
	waiters   []chan *delivery // receivers blocked in Receive, longest waiting first
	held      []*delivery      // entries read from Redis for receivers that stopped waiting

	lost chan struct{} // receives a value when the consumer group had to be created

	errMu      sync.Mutex
	receiveErr error // last error of the fetcher, nil once a read succeeds again
	moveErr    error // last error of the mover, nil once a move succeeds again
}

// New returns a queue on opts.Client and starts its mover. It does not contact Redis, so a worker can start
// while Redis is down; the consumer group is created when first needed.
func New(opts Options) (*Queue, error) {
	if opts.Client == nil {
		return nil, errors.New("redisq: Options.Client is required")
	}
	if opts.VisibilityTimeout < 0 || opts.MaxDeliveries < 0 || opts.MaxLen < 0 || opts.MoveInterval < 0 {
		return nil, errors.New("redisq: negative option")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Group == "" {
		opts.Group = DefaultGroup
	}
	if opts.Consumer == "" {
		opts.Consumer = defaultConsumer()
	}
	if opts.VisibilityTimeout == 0 {
		opts.VisibilityTimeout = DefaultVisibilityTimeout
	}
	if opts.MaxDeliveries == 0 {
		opts.MaxDeliveries = DefaultMaxDeliveries
	}
	if opts.MoveInterval == 0 {
		opts.MoveInterval = DefaultMoveInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	tag := opts.Prefix
	if !strings.Contains(tag, "{") {
		tag = "{" + tag + "}"
	}
	reclaimEvery := min(max(opts.VisibilityTimeout/4, 10*time.Millisecond), 5*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queue{
		client: opts.Client, group: opts.Group, consumer: opts.Consumer, vt: opts.VisibilityTimeout,
		maxDeliv: opts.MaxDeliveries, maxLen: opts.MaxLen, moveIvl: opts.MoveInterval,
		log:    opts.Logger.With("queue", opts.Prefix, "consumer", opts.Consumer),
		stream: tag + ":stream", delayed: tag + ":delayed", waiting: tag + ":waiting", dead: tag + ":dead",
		reclaimEvery: reclaimEvery, block: min(maxBlock, reclaimEvery),
		ctx: ctx, cancel: cancel, closeCh: make(chan struct{}), moverDone: make(chan struct{}),
		wake: make(chan struct{}, 1), demand: make(chan struct{}, 1), lost: make(chan struct{}, 1),
	}
	go q.move()
	return q, nil
}

func defaultConsumer() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "ferry"
	}
	b := make([]byte, 4)
	_, _ = crand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// keys lists the Redis keys of the queue.
func (q *Queue) keys() []string { return []string{q.stream, q.delayed, q.waiting, q.dead} }

// Enqueue implements queue.Queue.
func (q *Queue) Enqueue(ctx context.Context, runID string, at time.Time) error {
	return q.EnqueueBatch(ctx, []queue.Entry{{RunID: runID, At: at}})
}

// EnqueueBatch implements queue.Queue in one round trip: one script call, or a pipeline of them for batches of
// more than 1,000 entries.
func (q *Queue) EnqueueBatch(ctx context.Context, entries []queue.Entry) error {
	if q.closed.Load() {
		return queue.ErrClosed
	}
	if len(entries) == 0 {
		return nil
	}
	keys := []string{q.stream, q.delayed, q.waiting}
	chunks := make([][]any, 0, (len(entries)+batchChunk-1)/batchChunk)
	now := time.Now()
	for start := 0; start < len(entries); start += batchChunk {
		part := entries[start:min(start+batchChunk, len(entries))]
		args := make([]any, 0, 3+2*len(part))
		args = append(args, q.group, q.maxLen, now.UnixMilli())
		for _, e := range part {
			args = append(args, e.RunID, e.At.UnixMilli())
		}
		chunks = append(chunks, args)
	}
	var err error
	if len(chunks) == 1 {
		err = enqueueScript.Run(ctx, q.client, keys, chunks[0]...).Err()
	} else {
		err = q.enqueuePipelined(ctx, keys, chunks)
	}
	if err != nil {
		return fmt.Errorf("redisq: enqueue: %w", err)
	}
	// Wake the local mover for the earliest delayed entry, so it is moved on time without polling.
	var earliest time.Time
	for _, e := range entries {
		if e.At.After(now) && (earliest.IsZero() || e.At.Before(earliest)) {
			earliest = e.At
		}
	}
	if !earliest.IsZero() {
		q.wakeMover(earliest)
	}
	return nil
}

// enqueuePipelined sends several enqueue script calls in one pipeline. Enqueueing is idempotent, so after
// NOSCRIPT (Redis restarted or its scripts were flushed) the script is loaded and the whole pipeline sent again.
func (q *Queue) enqueuePipelined(ctx context.Context, keys []string, chunks [][]any) error {
	send := func() error {
		pipe := q.client.Pipeline()
		for _, args := range chunks {
			enqueueScript.EvalSha(ctx, pipe, keys, args...)
		}
		_, err := pipe.Exec(ctx)
		return err
	}
	err := send()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if err = enqueueScript.Load(ctx, q.client).Err(); err == nil {
			err = send()
		}
	}
	return err
}

func (q *Queue) wakeMover(at time.Time) {
	q.wakeMu.Lock()
	if q.wakeAt.IsZero() || at.Before(q.wakeAt) {
		q.wakeAt = at
	}
	q.wakeMu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Receive implements queue.Queue. Entries are read from Redis by one fetcher per process, for as many receivers
// as are waiting, so a process holds at most one blocked connection however many workers it runs. An entry read
// for a receiver whose ctx ended meanwhile goes to another waiting receiver, or is kept for the next Receive.
func (q *Queue) Receive(ctx context.Context) (queue.Delivery, error) {
	if q.closed.Load() {
		return nil, queue.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q.fetchOnce.Do(func() { go q.fetch() })
	q.mu.Lock()
	if len(q.held) > 0 {
		d := q.held[0]
		q.held[0] = nil
		q.held = q.held[1:]
		q.mu.Unlock()
		return d, nil
	}
	w := make(chan *delivery, 1)
	q.waiters = append(q.waiters, w)
	q.mu.Unlock()
	select {
	case q.demand <- struct{}{}:
	default:
	}
	select {
	case d := <-w:
		return d, nil
	case <-ctx.Done():
		q.abandon(w)
		return nil, ctx.Err()
	case <-q.closeCh:
		q.abandon(w)
		return nil, queue.ErrClosed
	}
}

// abandon removes a receiver that stopped waiting; an entry already handed to it is passed on.
func (q *Queue) abandon(w chan *delivery) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, x := range q.waiters {
		if x == w {
			q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
			return
		}
	}
	select {
	case d := <-w:
		q.dispatchLocked(d)
	default:
	}
}

// dispatchLocked hands d to the longest-waiting receiver, or holds it for the next Receive. q.mu must be held.
func (q *Queue) dispatchLocked(d *delivery) {
	if len(q.waiters) > 0 {
		w := q.waiters[0]
		q.waiters[0] = nil
		q.waiters = q.waiters[1:]
		w <- d // buffered, and each receiver is handed one entry at most
		return
	}
	q.held = append(q.held, d)
}

// fetch reads entries for waiting receivers until Close, reclaiming entries of dead consumers on the way. It
// never gives up: errors are retried with backoff and reported by Health meanwhile.
func (q *Queue) fetch() {
	var (
		failures    int
		recreated   bool // the group was recreated since the last successful read
		lastReclaim time.Time
		lastPrune   time.Time
	)
	for {
		if q.closed.Load() {
			return
		}
		q.mu.Lock()
		n := min(len(q.waiters)-len(q.held), maxFetch)
		q.mu.Unlock()
		if n <= 0 {
			select {
			case <-q.closeCh:
				return
			case <-q.demand:
			}
			continue
		}
		var (
			got []*delivery
			err error
		)
		if time.Since(lastPrune) >= pruneEvery {
			lastPrune = time.Now()
			q.prune()
		}
		if time.Since(lastReclaim) >= q.reclaimEvery {
			var more bool
			got, more, err = q.reclaim(n)
			if err == nil && !more {
				lastReclaim = time.Now()
			}
		}
		if err == nil && len(got) == 0 {
			got, err = q.read(n)
		}
		if err != nil {
			if q.closed.Load() {
				return
			}
			if isNoGroup(err) || redis.HasErrorPrefix(err, "UNBLOCKED") {
				// Redis was flushed or restarted without persistence (a blocked read is then answered with
				// UNBLOCKED, the next one with NOGROUP): recreate the group and read again at once, unless the
				// group vanished again right after being recreated, which is retried with backoff.
				if gerr := q.ensureGroup(); gerr != nil {
					err = gerr
				} else if !recreated {
					recreated = true
					continue
				}
			}
			failures++
			q.setErr(&q.receiveErr, err)
			wait := backoff(failures)
			q.log.Warn("queue: cannot receive from Redis; retrying", "err", err, "attempt", failures, "retry_in", wait)
			if !q.sleep(wait) {
				return
			}
			continue
		}
		if failures > 0 {
			q.log.Info("queue: receiving from Redis again", "after_attempts", failures)
			failures = 0
		}
		recreated = false
		q.setErr(&q.receiveErr, nil)
		if len(got) > 0 {
			q.mu.Lock()
			for _, d := range got {
				q.dispatchLocked(d)
			}
			q.mu.Unlock()
		}
	}
}

// read takes up to n new entries for this consumer, blocking for a bounded time when there are none.
func (q *Queue) read(n int) ([]*delivery, error) {
	res, err := q.client.XReadGroup(q.ctx, &redis.XReadGroupArgs{
		Group: q.group, Consumer: q.consumer, Streams: []string{q.stream, ">"}, Count: int64(n), Block: q.block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*delivery
	for _, s := range res {
		for _, m := range s.Messages {
			run, _ := m.Values["run"].(string)
			out = append(out, &delivery{q: q, entry: m.ID, run: run})
		}
	}
	return out, nil
}

// reclaim claims up to n entries that other consumers (or this one) received and left unacknowledged for longer
// than the visibility timeout, dead-lettering those delivered MaxDeliveries times already. more reports that
// there may be further such entries.
func (q *Queue) reclaim(n int) (claimed []*delivery, more bool, err error) {
	q.busy.Lock()
	defer q.busy.Unlock()
	if q.closed.Load() {
		return nil, false, queue.ErrClosed
	}
	res, err := reclaimScript.Run(q.ctx, q.client, []string{q.stream, q.waiting, q.dead},
		q.group, q.consumer, q.vt.Milliseconds(), n, q.maxDeliv, deadMaxLen).Slice()
	if err != nil {
		return nil, false, err
	}
	if len(res) != 3 {
		return nil, false, fmt.Errorf("redisq: unexpected reclaim reply %v", res)
	}
	for _, c := range asSlice(res[0]) {
		f := asSlice(c)
		if len(f) != 3 {
			continue
		}
		entry, run := asString(f[0]), asString(f[1])
		q.log.Info("queue: reclaimed an entry left unacknowledged", "run", run, "entry", entry, "delivery", f[2])
		claimed = append(claimed, &delivery{q: q, entry: entry, run: run})
	}
	for _, c := range asSlice(res[1]) {
		f := asSlice(c)
		if len(f) != 3 {
			continue
		}
		q.log.Warn("queue: entry dead-lettered after too many deliveries; the run stays in the store",
			"run", asString(f[0]), "entry", asString(f[1]), "deliveries", f[2], "dead_letter_stream", q.dead)
	}
	looked, _ := res[2].(int64)
	return claimed, looked >= int64(n), nil
}

// prune deletes consumer names of processes that have gone. Failures only delay it to the next round.
func (q *Queue) prune() {
	q.busy.Lock()
	defer q.busy.Unlock()
	if q.closed.Load() {
		return
	}
	idle := max(time.Hour, 10*q.vt)
	n, err := pruneScript.Run(q.ctx, q.client, []string{q.stream}, q.group, q.consumer, idle.Milliseconds()).Int64()
	if err != nil {
		if !isNoGroup(err) {
			q.log.Debug("queue: pruning idle consumers failed", "err", err)
		}
		return
	}
	if n > 0 {
		q.log.Info("queue: removed consumers of processes that have gone", "count", n)
	}
}

// ensureGroup creates the consumer group, and the stream with it, unless it exists. It starts at the beginning
// of the stream so entries added before the group existed (after a flush) are delivered too.
func (q *Queue) ensureGroup() error {
	q.busy.Lock()
	defer q.busy.Unlock()
	if q.closed.Load() {
		return queue.ErrClosed
	}
	err := q.client.XGroupCreateMkStream(q.ctx, q.stream, q.group, "0").Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return err
	}
	if err == nil {
		q.log.Info("queue: created consumer group", "group", q.group, "stream", q.stream)
		select {
		case q.lost <- struct{}{}:
		default:
		}
	}
	return nil
}

// Lost receives a value (several events coalesce into one) each time this process had to create the consumer
// group: Redis was flushed or restarted without persistence, so waiting and delayed entries may be gone and the
// sweeper should enqueue every due run again now rather than at its next full sweep. It also fires when the
// group is created for the first time, where an extra sweep is harmless. The channel is never closed.
func (q *Queue) Lost() <-chan struct{} { return q.lost }

// move runs the mover until Close: it moves delayed entries that came due into the stream, sleeping until the
// next one is due, MoveInterval at most, or until this process enqueues an earlier one.
func (q *Queue) move() {
	defer close(q.moverDone)
	var failures int
	next := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if wait := time.Until(next); wait > 0 {
			timer.Reset(wait)
			select {
			case <-q.closeCh:
				return
			case <-timer.C:
			case <-q.wake:
				timer.Stop()
				q.wakeMu.Lock()
				at := q.wakeAt
				q.wakeAt = time.Time{}
				q.wakeMu.Unlock()
				if !at.IsZero() && at.Before(next) {
					next = at
				}
				continue
			}
		}
		if q.closed.Load() {
			return
		}
		res, err := moveScript.Run(q.ctx, q.client, []string{q.delayed, q.stream, q.waiting}, q.maxLen, moveLimit).Int64Slice()
		if err == nil && len(res) != 3 {
			err = fmt.Errorf("redisq: unexpected move reply %v", res)
		}
		if err != nil {
			if q.closed.Load() {
				return
			}
			failures++
			q.setErr(&q.moveErr, err)
			wait := backoff(failures)
			q.log.Warn("queue: cannot move delayed entries in Redis; retrying", "err", err, "attempt", failures, "retry_in", wait)
			next = time.Now().Add(wait)
			continue
		}
		if failures > 0 {
			q.log.Info("queue: moving delayed entries again", "after_attempts", failures)
			failures = 0
		}
		q.setErr(&q.moveErr, nil)
		moved, now, nextDue := res[0], res[1], res[2]
		switch {
		case moved >= moveLimit:
			next = time.Now()
		case nextDue >= 0 && time.Duration(nextDue-now)*time.Millisecond < q.moveIvl:
			next = time.Now().Add(time.Duration(nextDue-now) * time.Millisecond)
		default:
			next = time.Now().Add(q.moveIvl)
		}
	}
}

// Depth implements queue.Queue exactly: delayed entries plus stream entries not delivered yet, in one script
// call. Entries a process read for a receiver that gave up, and holds for its next Receive, count as delivered.
// After MaxLen trimming dropped entries that were in flight, it may undercount.
func (q *Queue) Depth(ctx context.Context) (int64, error) {
	n, err := depthScript.Run(ctx, q.client, []string{q.delayed, q.stream}, q.group).Int64()
	if err != nil {
		return 0, fmt.Errorf("redisq: depth: %w", err)
	}
	return n, nil
}

// Health implements queue.Queue: the error of a PING, else the last error of the fetcher or the mover until
// they succeed again, else nil.
func (q *Queue) Health(ctx context.Context) error {
	if q.closed.Load() {
		return queue.ErrClosed
	}
	if err := q.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisq: %w", err)
	}
	q.errMu.Lock()
	defer q.errMu.Unlock()
	if q.receiveErr != nil {
		return fmt.Errorf("redisq: receive: %w", q.receiveErr)
	}
	if q.moveErr != nil {
		return fmt.Errorf("redisq: move delayed entries: %w", q.moveErr)
	}
	return nil
}

// Close implements queue.Queue. It stops the mover and returns receivers blocked in Receive. Entries this
// process received but handed to no receiver are put back as waiting entries, so a worker shutting down does
// not delay them by the visibility timeout. Close does not close the Redis client, and returns without waiting
// for a read in flight (at most 2s); whatever that read returns is claimed by another consumer later.
func (q *Queue) Close() error {
	q.closeOnce.Do(func() {
		q.closed.Store(true)
		close(q.closeCh)
		q.cancel()
		<-q.moverDone
		q.busy.Lock() // wait out a reclaim or group creation in progress
		defer q.busy.Unlock()
		q.release()
	})
	return nil
}

// release re-enqueues entries received but not handed out, and acknowledges the received copies.
func (q *Queue) release() {
	q.mu.Lock()
	held := q.held
	q.held = nil
	q.mu.Unlock()
	if len(held) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	now := time.Now().UnixMilli()
	args := []any{q.group, q.maxLen, now}
	for _, d := range held {
		args = append(args, d.run, now)
	}
	pipe := q.client.Pipeline()
	enqueueScript.Eval(ctx, pipe, []string{q.stream, q.delayed, q.waiting}, args...)
	for _, d := range held {
		ackScript.Eval(ctx, pipe, []string{q.stream, q.waiting}, q.group, d.entry, d.run)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		q.log.Warn("queue: could not put back received entries on close; they are redelivered after the visibility timeout",
			"count", len(held), "err", err)
	}
}

func (q *Queue) setErr(slot *error, err error) {
	q.errMu.Lock()
	*slot = err
	q.errMu.Unlock()
}

// sleep waits d, or until Close (false).
func (q *Queue) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-q.closeCh:
		return false
	}
}

// backoff is the wait before attempt failures+1: exponential with jitter, capped.
func backoff(failures int) time.Duration {
	d := backoffMax
	if failures < 16 {
		d = min(backoffMin<<(failures-1), backoffMax)
	}
	return d/2 + time.Duration(mrand.Int64N(int64(d/2)+1))
}

func isNoGroup(err error) bool {
	return err != nil && strings.Contains(err.Error(), "NOGROUP")
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func asString(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case int64:
		return strconv.FormatInt(s, 10)
	}
	return ""
}

// delivery is one entry received from the stream.
type delivery struct {
	q     *Queue
	entry string // stream entry id
	run   string
}

func (d *delivery) RunID() string { return d.run }

// Ack acknowledges and deletes the entry in one script call. It works after Close, so a worker can finish what
// it holds while shutting down.
func (d *delivery) Ack(ctx context.Context) error {
	q := d.q
	if err := ackScript.Run(ctx, q.client, []string{q.stream, q.waiting}, q.group, d.entry, d.run).Err(); err != nil {
		return fmt.Errorf("redisq: ack: %w", err)
	}
	return nil
}

var _ queue.Queue = (*Queue)(nil)

var _ queue.LossNotifier = (*Queue)(nil)
