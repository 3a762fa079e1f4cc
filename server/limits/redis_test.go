package limits_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/limits"
)

// TestRedisBucketIsSharedByProcesses: two workers with their own connections draw from one bucket.
func TestRedisBucketIsSharedByProcesses(t *testing.T) {
	first := redisClient(t)
	prefix := testPrefix(t, first)
	second := redis.NewClient(first.Options())
	t.Cleanup(func() { _ = second.Close() })
	a, b := limits.NewRedis(first, prefix), limits.NewRedis(second, prefix)
	ctx := context.Background()
	limit := nodes.Limit{Rate: 0.1, Burst: 1}
	if d, err := a.Reserve(ctx, "credential:shop:live", limit); err != nil || d != 0 {
		t.Fatalf("worker A: due in %s, %v", d, err)
	}
	d, err := b.Reserve(ctx, "credential:shop:live", limit)
	if err != nil {
		t.Fatal(err)
	}
	if d < 7*time.Second || d > 10*time.Second+10*time.Millisecond {
		t.Fatalf("worker B: due in %s, want about 10s after worker A's call", d)
	}
	if err := b.Penalize(ctx, "credential:shop:live", time.Minute); err != nil {
		t.Fatal(err)
	}
	if d, err := a.Reserve(ctx, "credential:shop:live", limit); err != nil || d < 55*time.Second {
		t.Fatalf("worker A after worker B's 429: due in %s, %v; want after the minute", d, err)
	}
}

// TestRedisKeysExpireAndKeepThePrefix: buckets live under the prefix and carry an expiry, so idle keys leave
// Redis by themselves.
func TestRedisKeysExpireAndKeepThePrefix(t *testing.T) {
	client := redisClient(t)
	prefix := testPrefix(t, client)
	l := limits.NewRedis(client, prefix)
	ctx := context.Background()
	if _, err := l.Reserve(ctx, "host:api.example.com", nodes.Limit{Rate: 5, Burst: 10}); err != nil {
		t.Fatal(err)
	}
	keys, err := client.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) != 1 || keys[0] != prefix+"host:api.example.com" {
		t.Fatalf("keys %v, %v", keys, err)
	}
	ttl, err := client.PTTL(ctx, keys[0]).Result()
	if err != nil || ttl <= 0 || ttl > 2*time.Minute {
		t.Fatalf("expiry %s, %v; want a positive expiry of about a minute", ttl, err)
	}
}

func TestRedisDefaultPrefix(t *testing.T) {
	client := redisClient(t)
	l := limits.NewRedis(client, "")
	ctx := context.Background()
	key := "limits-test-default-prefix"
	t.Cleanup(func() { client.Del(context.Background(), limits.DefaultRedisPrefix+key) })
	if _, err := l.Reserve(ctx, key, nodes.Limit{Rate: 1}); err != nil {
		t.Fatal(err)
	}
	if n, err := client.Exists(ctx, limits.DefaultRedisPrefix+key).Result(); err != nil || n != 1 {
		t.Fatalf("bucket under the default prefix: %d, %v", n, err)
	}
}

// TestRedisUnavailable: a limiter that cannot reach Redis says so, so the engine can log it and go on.
func TestRedisUnavailable(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = client.Close() })
	l := limits.NewRedis(client, "x:")
	if _, err := l.Reserve(context.Background(), "k", nodes.Limit{Rate: 1}); err == nil {
		t.Fatal("reserve without Redis: no error")
	}
	if err := l.Penalize(context.Background(), "k", time.Second); err == nil {
		t.Fatal("penalize without Redis: no error")
	}
}
