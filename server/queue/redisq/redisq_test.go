package redisq

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/server/queue"
	"github.com/ferry-hq/ferry/server/queue/queuetest"
)

// flushDB is the database TestFlushDBRecreatesGroup empties with FLUSHDB; nothing else may live there.
const flushDB = 15

// redisOptions parses FERRY_TEST_REDIS_URL, skipping the test when it is unset.
func redisOptions(t testing.TB) *redis.Options {
	t.Helper()
	url := testenv.Service(t, testenv.RedisURL, "the Redis queue tests (e.g. redis://127.0.0.1:6379/0)")
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("FERRY_TEST_REDIS_URL: %v", err)
	}
	return opt
}

// testClient connects to the test Redis (db < 0: the database of the URL) and fails if it does not answer.
func testClient(t testing.TB, db int) *redis.Client {
	t.Helper()
	opt := redisOptions(t)
	if db >= 0 {
		opt.DB = db
	}
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at FERRY_TEST_REDIS_URL does not answer: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

var prefixSeq atomic.Int64

func uniquePrefix(t testing.TB) string {
	name := strings.NewReplacer("/", ":", " ", "_").Replace(t.Name())
	return fmt.Sprintf("ferrytest:%s:%d:%d", name, time.Now().UnixNano(), prefixSeq.Add(1))
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newTestQueue returns a queue on c under prefix, closed and with its keys deleted when the test ends.
func newTestQueue(t testing.TB, c redis.UniversalClient, prefix string, tweak func(*Options)) *Queue {
	t.Helper()
	opts := Options{Client: c, Prefix: prefix, Logger: testLogger()}
	if tweak != nil {
		tweak(&opts)
	}
	q, err := New(opts)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	t.Cleanup(func() {
		_ = q.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Del(ctx, q.keys()...).Err()
	})
	return q
}

func receiveWithin(t testing.TB, q queue.Queue, within time.Duration) queue.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	d, err := q.Receive(ctx)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return d
}

// quietRedis drops the client library's own log lines (dial failures are expected in the outage tests) unless
// the tests run verbose.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		redis.SetLogger(quietRedis{})
	}
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) {
	c := testClient(t, -1)
	queuetest.Run(t, func(t *testing.T) queue.Queue { return newTestQueue(t, c, uniquePrefix(t), nil) })
}

func TestKeysShareAHashTag(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	q, err := New(Options{Client: c, Prefix: "ferry:q", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for _, k := range q.keys() {
		if !strings.HasPrefix(k, "{ferry:q}:") {
			t.Fatalf("key %s lacks the hash tag", k)
		}
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without a client succeeded")
	}
}

func TestUnackedEntryRedeliveredToAnotherConsumer(t *testing.T) {
	c := testClient(t, -1)
	prefix := uniquePrefix(t)
	const vt = 300 * time.Millisecond
	a := newTestQueue(t, c, prefix, func(o *Options) { o.Consumer = "a"; o.VisibilityTimeout = vt })
	b := newTestQueue(t, c, prefix, func(o *Options) { o.Consumer = "b"; o.VisibilityTimeout = vt })
	ctx := context.Background()
	if err := a.Enqueue(ctx, "x", time.Now()); err != nil {
		t.Fatal(err)
	}
	first := receiveWithin(t, a, 5*time.Second)
	received := time.Now()
	// a "dies" here: it never acknowledges.
	second := receiveWithin(t, b, 5*time.Second)
	if el := time.Since(received); el < vt-20*time.Millisecond {
		t.Fatalf("redelivered after %v, before the visibility timeout", el)
	}
	if first.RunID() != "x" || second.RunID() != "x" {
		t.Fatalf("got %s then %s", first.RunID(), second.RunID())
	}
	owner := c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: b.stream, Group: b.group, Start: "-", End: "+", Count: 10}).Val()
	if len(owner) != 1 || owner[0].Consumer != "b" || owner[0].RetryCount != 2 {
		t.Fatalf("pending entries %+v, want one held by b after two deliveries", owner)
	}
	if err := second.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Ack(ctx); err != nil { // a late acknowledgement of the first delivery is harmless
		t.Fatal(err)
	}
	if n, err := b.Depth(ctx); err != nil || n != 0 {
		t.Fatalf("depth %d, %v", n, err)
	}
	if n := c.XLen(ctx, b.stream).Val(); n != 0 {
		t.Fatalf("stream still holds %d entries", n)
	}
}

func TestDeadLetterAfterMaxDeliveries(t *testing.T) {
	c := testClient(t, -1)
	q := newTestQueue(t, c, uniquePrefix(t), func(o *Options) {
		o.VisibilityTimeout = 150 * time.Millisecond
		o.MaxDeliveries = 2
	})
	ctx := context.Background()
	if err := q.Enqueue(ctx, "poison", time.Now()); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if d := receiveWithin(t, q, 5*time.Second); d.RunID() != "poison" {
			t.Fatalf("delivery %d: %s", i, d.RunID())
		}
	}
	// The third delivery would exceed MaxDeliveries: the entry goes to the dead-letter stream instead.
	short, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	if d, err := q.Receive(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want no delivery, got %v %v", d, err)
	}
	dead := c.XRange(ctx, q.dead, "-", "+").Val()
	if len(dead) != 1 || dead[0].Values["run"] != "poison" || dead[0].Values["deliveries"] != "2" {
		t.Fatalf("dead letters %+v", dead)
	}
	if n := c.XLen(ctx, q.stream).Val(); n != 0 {
		t.Fatalf("stream still holds %d entries", n)
	}
	if p := c.XPending(ctx, q.stream, q.group).Val(); p.Count != 0 {
		t.Fatalf("%d entries still pending", p.Count)
	}
	if n := c.HLen(ctx, q.waiting).Val(); n != 0 {
		t.Fatalf("waiting hash holds %d ids", n)
	}
	// The run can be enqueued again, e.g. by the sweeper or a manual retry.
	if err := q.Enqueue(ctx, "poison", time.Now()); err != nil {
		t.Fatal(err)
	}
	d := receiveWithin(t, q, 5*time.Second)
	if d.RunID() != "poison" {
		t.Fatalf("got %s", d.RunID())
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestCloseReleasesHeldEntries checks that an entry read for a receiver that gave up, and so held by the
// process, is put back as waiting when the queue closes instead of waiting out the visibility timeout.
func TestCloseReleasesHeldEntries(t *testing.T) {
	c := testClient(t, -1)
	prefix := uniquePrefix(t)
	q := newTestQueue(t, c, prefix, nil)
	other := newTestQueue(t, c, prefix, nil)
	ctx := context.Background()
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := q.Receive(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("receive: %v", err)
	}
	// The fetcher's read for the receiver that gave up is still blocked; it takes the next entry.
	if err := other.Enqueue(ctx, "held", time.Now()); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the entry to be held", 5*time.Second, func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return len(q.held) == 1
	})
	if n, _ := other.Depth(ctx); n != 0 {
		t.Fatalf("depth %d while held", n)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if n, _ := other.Depth(ctx); n != 1 {
		t.Fatalf("depth %d after close, want the entry waiting again", n)
	}
	if p := c.XPending(ctx, q.stream, q.group).Val(); p.Count != 0 {
		t.Fatalf("%d entries still pending", p.Count)
	}
	d := receiveWithin(t, other, 5*time.Second)
	if d.RunID() != "held" {
		t.Fatalf("got %s", d.RunID())
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestConsumesAgainAfterKeysDeleted(t *testing.T) {
	c := testClient(t, -1)
	q := newTestQueue(t, c, uniquePrefix(t), nil)
	ctx := context.Background()
	roundTrip(t, q, "before")
	if err := q.Enqueue(ctx, "delayed", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := c.Del(ctx, q.keys()...).Err(); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, q, "after")
}

// TestFlushDBRecreatesGroup empties a whole database with FLUSHDB while a receiver is blocked, and checks that
// the queue recreates its consumer group and delivers again. It uses database 15, which must hold nothing else.
func TestFlushDBRecreatesGroup(t *testing.T) {
	c := testClient(t, flushDB)
	q := newTestQueue(t, c, uniquePrefix(t), nil)
	ctx := context.Background()
	roundTrip(t, q, "before")
	select { // the group was created for the first time
	case <-q.Lost():
	default:
	}

	got := make(chan queue.Delivery, 1)
	errc := make(chan error, 1)
	go func() {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		d, err := q.Receive(rctx)
		if err != nil {
			errc <- err
			return
		}
		got <- d
	}()
	testenv.WaitFor(t, "the receiver to block in XREADGROUP", 5*time.Second, func() bool {
		clients, err := c.ClientList(ctx).Result()
		if err != nil {
			return false
		}
		for _, line := range strings.Split(clients, "\n") {
			if strings.Contains(line, fmt.Sprintf(" db=%d ", flushDB)) && strings.Contains(line, " cmd=xreadgroup") {
				return true
			}
		}
		return false
	})
	sentinel := q.stream + ":sentinel"
	if err := c.Set(ctx, sentinel, "x", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(ctx, sentinel).Val(); n != 0 {
		t.Fatal("FLUSHDB left a key")
	}
	if err := q.Enqueue(ctx, "after", time.Now()); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-got:
		if d.RunID() != "after" {
			t.Fatalf("got %s", d.RunID())
		}
		if err := d.Ack(ctx); err != nil {
			t.Fatal(err)
		}
	case err := <-errc:
		t.Fatalf("receive after FLUSHDB: %v", err)
	case <-time.After(12 * time.Second):
		t.Fatal("no delivery after FLUSHDB")
	}
	if err := q.Health(ctx); err != nil {
		t.Fatalf("health after FLUSHDB: %v", err)
	}
	if groups := c.XInfoGroups(ctx, q.stream).Val(); len(groups) != 1 || groups[0].Name != q.group {
		t.Fatalf("groups after FLUSHDB: %+v", groups)
	}
	// The sweeper learns that entries may have been lost.
	var notifier interface{ Lost() <-chan struct{} } = q
	select {
	case <-notifier.Lost():
	case <-time.After(time.Second):
		t.Fatal("no loss notification after FLUSHDB")
	}
	roundTrip(t, q, "later")
}

func roundTrip(t *testing.T, q *Queue, id string) {
	t.Helper()
	ctx := context.Background()
	if err := q.Enqueue(ctx, id, time.Now()); err != nil {
		t.Fatalf("enqueue %s: %v", id, err)
	}
	d := receiveWithin(t, q, 10*time.Second)
	if d.RunID() != id {
		t.Fatalf("got %s, want %s", d.RunID(), id)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestHealth(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer dead.Close()
	q, err := New(Options{Client: dead, Prefix: uniquePrefix(t), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Health(ctx); err == nil {
		t.Fatal("health is nil with Redis unreachable")
	}
	short, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	if _, err := q.Receive(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("receive with Redis unreachable: %v", err)
	}
	if err := q.Enqueue(ctx, "x", time.Now()); err == nil {
		t.Fatal("enqueue with Redis unreachable succeeded")
	}

	live := newTestQueue(t, testClient(t, -1), uniquePrefix(t), nil)
	if err := live.Health(ctx); err != nil {
		t.Fatalf("health with Redis answering: %v", err)
	}
}

// TestConsumesAgainAfterConnectionLoss cuts the connection between a worker and Redis while it is receiving,
// checks that Health reports it, and that the worker consumes again by itself once Redis is reachable.
func TestConsumesAgainAfterConnectionLoss(t *testing.T) {
	opt := redisOptions(t)
	direct := testClient(t, -1)
	p := startProxy(t, opt.Addr)
	viaProxy := *opt
	viaProxy.Addr = p.addr
	viaProxy.MaxRetries = -1
	viaProxy.DialTimeout = 200 * time.Millisecond
	worker := redis.NewClient(&viaProxy)
	defer worker.Close()

	prefix := uniquePrefix(t)
	producer := newTestQueue(t, direct, prefix, nil)
	q := newTestQueue(t, worker, prefix, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 10)
	go func() {
		for {
			d, err := q.Receive(ctx)
			if err != nil {
				return
			}
			_ = d.Ack(context.Background())
			got <- d.RunID()
		}
	}()
	expect := func(id string) {
		t.Helper()
		select {
		case g := <-got:
			if g != id {
				t.Fatalf("got %s, want %s", g, id)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("%s not delivered", id)
		}
	}
	if err := producer.Enqueue(ctx, "one", time.Now()); err != nil {
		t.Fatal(err)
	}
	expect("one")

	p.down()
	testenv.WaitFor(t, "health to report the lost connection", 5*time.Second, func() bool { return q.Health(ctx) != nil })
	time.Sleep(500 * time.Millisecond) // let the fetcher fail and back off
	if err := producer.Enqueue(ctx, "two", time.Now()); err != nil {
		t.Fatal(err)
	}
	p.up(t)
	expect("two")
	testenv.WaitFor(t, "health to recover", 10*time.Second, func() bool { return q.Health(ctx) == nil })
}

// proxy forwards TCP connections to Redis and can drop them all and refuse new ones, like a network blip.
type proxy struct {
	target, addr string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	p := &proxy{target: target, addr: "127.0.0.1:0", conns: map[net.Conn]struct{}{}}
	p.up(t)
	p.addr = p.ln.Addr().String()
	t.Cleanup(p.down)
	return p
}

func (p *proxy) up(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns[in], p.conns[out] = struct{}{}, struct{}{}
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close(); in.Close() }()
			go func() { _, _ = io.Copy(in, out); out.Close(); in.Close() }()
		}
	}()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// TestEnqueueBatchIsOneRoundTrip counts the commands and pipelines the client sends for a batch.
func TestEnqueueBatchIsOneRoundTrip(t *testing.T) {
	c := testClient(t, -1)
	q := newTestQueue(t, c, uniquePrefix(t), nil)
	ctx := context.Background()
	if err := q.Enqueue(ctx, "warm-up", time.Now()); err != nil { // loads the script
		t.Fatal(err)
	}
	if err := enqueueScript.Load(ctx, c).Err(); err != nil {
		t.Fatal(err)
	}
	h := &countingHook{}
	c.AddHook(h)
	for _, size := range []int{100, 2500} {
		h.n.Store(0)
		batch := make([]queue.Entry, size)
		for i := range batch {
			batch[i] = queue.Entry{RunID: fmt.Sprintf("b%d-%d", size, i), At: time.Now()}
		}
		if err := q.EnqueueBatch(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if n := h.n.Load(); n != 1 {
			t.Fatalf("batch of %d took %d round trips", size, n)
		}
	}
	if n, _ := q.Depth(ctx); n != 2601 {
		t.Fatalf("depth %d", n)
	}
}

// countingHook counts round trips that run the enqueue script, alone or in a pipeline. (Other traffic, such as
// the mover's polling and connection set-up, is not counted.)
type countingHook struct{ n atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if isEnqueue(cmd) {
			h.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && isEnqueue(cmds[0]) {
			h.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

func isEnqueue(cmd redis.Cmder) bool {
	if cmd.Name() != "evalsha" && cmd.Name() != "eval" {
		return false
	}
	args := cmd.Args()
	return len(args) > 1 && (args[1] == enqueueScript.Hash() || strings.Contains(fmt.Sprint(args[1]), "inStream"))
}

func BenchmarkEnqueueBatch(b *testing.B) {
	c := testClient(b, -1)
	q := newTestQueue(b, c, uniquePrefix(b), nil)
	ctx := context.Background()
	const size = 100
	batch := make([]queue.Entry, size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%1000 == 0 { // keep Redis memory bounded
			b.StopTimer()
			_ = c.Del(ctx, q.keys()...).Err()
			b.StartTimer()
		}
		now := time.Now()
		for j := range batch {
			batch[j] = queue.Entry{RunID: fmt.Sprintf("run-%d-%d", i, j), At: now}
		}
		if err := q.EnqueueBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/entry")
}

func BenchmarkEnqueueReceiveAck(b *testing.B) {
	c := testClient(b, -1)
	q := newTestQueue(b, c, uniquePrefix(b), nil)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := q.Enqueue(ctx, fmt.Sprintf("run-%d", i), time.Now()); err != nil {
			b.Fatal(err)
		}
		d, err := q.Receive(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Ack(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnqueueReceiveAckParallel measures throughput with 8×GOMAXPROCS goroutines each enqueueing,
// receiving and acknowledging, as producers and many workers do in one process.
func BenchmarkEnqueueReceiveAckParallel(b *testing.B) {
	c := testClient(b, -1)
	q := newTestQueue(b, c, uniquePrefix(b), nil)
	ctx := context.Background()
	var seq atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := q.Enqueue(ctx, fmt.Sprintf("run-%d", seq.Add(1)), time.Now()); err != nil {
				b.Error(err)
				return
			}
			d, err := q.Receive(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			if err := d.Ack(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
