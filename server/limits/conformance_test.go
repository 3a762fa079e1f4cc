package limits_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/server/limits"
	"github.com/ferry-hq/ferry/server/limits/limitstest"
)

func TestMemoryConformance(t *testing.T) {
	limitstest.Run(t, func(*testing.T) engine.Limiter { return limits.NewMemory() })
}

func TestRedisConformance(t *testing.T) {
	client := redisClient(t)
	limitstest.Run(t, func(t *testing.T) engine.Limiter { return limits.NewRedis(client, testPrefix(t, client)) })
}

// redisClient connects to the server named by FERRY_TEST_REDIS_URL, or skips the test when it is unset.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	url := testenv.Service(t, testenv.RedisURL, "the Redis rate limiter tests")
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("FERRY_TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("FERRY_TEST_REDIS_URL is set but Redis does not answer: %v", err)
	}
	return client
}

// testPrefix returns a key prefix private to t and deletes every key under it when t ends.
func testPrefix(t *testing.T, client *redis.Client) string {
	t.Helper()
	prefix := "ferry-test:rate:" + uuid.NewString() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := client.Keys(ctx, prefix+"*").Result()
		if err != nil {
			t.Errorf("list test keys: %v", err)
			return
		}
		if len(keys) > 0 {
			if err := client.Del(ctx, keys...).Err(); err != nil {
				t.Errorf("delete test keys: %v", err)
			}
		}
	})
	return prefix
}
