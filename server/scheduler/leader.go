package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Leader decides which of several processes sharing a store does the work only one should do at a time (the
// sweeper's full sweeps would otherwise multiply with every worker).
type Leader interface {
	// Lead reports whether this process leads now, taking or renewing leadership as needed. A leader that stops
	// calling Lead loses leadership after its lease.
	Lead(ctx context.Context) (bool, error)
}

// RedisLeader holds leadership as a Redis key with an expiry: SET NX to take it, a compare-and-expire script to
// renew it. A process that dies stops renewing and another takes over after TTL.
type RedisLeader struct {
	Client redis.UniversalClient
	Key    string
	// Owner identifies this process; it must differ between processes.
	Owner string
	// TTL is the lease; Lead must be called more often than that (default 15s).
	TTL time.Duration
}

// renewLeader extends the lease only if this owner still holds it.
var renewLeader = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)

// Lead implements Leader.
func (l *RedisLeader) Lead(ctx context.Context) (bool, error) {
	ttl := l.TTL
	if ttl <= 0 {
		ttl = 15 * time.Second
	}
	renewed, err := renewLeader.Run(ctx, l.Client, []string{l.Key}, l.Owner, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("renew leadership: %w", err)
	}
	if renewed == 1 {
		return true, nil
	}
	ok, err := l.Client.SetNX(ctx, l.Key, l.Owner, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("take leadership: %w", err)
	}
	return ok, nil
}
