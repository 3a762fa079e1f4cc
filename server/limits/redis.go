package limits

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
)

// DefaultRedisPrefix starts the Redis keys of the rate limiter when NewRedis is given no prefix.
const DefaultRedisPrefix = "ferry:rate:"

// bucketScript is one token bucket per key, updated atomically with the server's clock, so every worker process
// shares one bucket whatever its own clock says. The hash holds the tokens at ts (microseconds), the configured
// rate and burst, the rate in force (eff), the penalty factor and its end (pu), and the end of a block (bu) set
// by a Retry-After or by a hold from the provider's own quota. It behaves like Memory: refill at the rate in
// force, spend one token, owe the rest as a wait. The key expires once the bucket would be full and no penalty
// is left, so idle keys go away by themselves.
var bucketScript = redis.NewScript(`
local key = KEYS[1]
local op = ARGV[1]
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000000 + tonumber(tm[2])
local v = redis.call('HMGET', key, 'tokens', 'ts', 'rate', 'eff', 'burst', 'factor', 'pu', 'bu')
local tokens, ts, rate, eff, burst = tonumber(v[1]), tonumber(v[2]), tonumber(v[3]), tonumber(v[4]), tonumber(v[5])
local factor, pu, bu = tonumber(v[6]) or 1, tonumber(v[7]) or 0, tonumber(v[8]) or 0
if tokens ~= nil and now > ts then
  tokens = math.min(burst, tokens + (now - ts) / 1e6 * eff)
end
local delay = 0
if op == 'reserve' then
  local newRate, newBurst = tonumber(ARGV[2]), tonumber(ARGV[3])
  if now >= pu then factor = 1 end
  if tokens == nil then tokens = newBurst else tokens = math.min(tokens, newBurst) end
  rate, burst, eff = newRate, newBurst, newRate * factor
  tokens = tokens - 1
  if tokens < 0 then delay = -tokens / eff * 1e6 end
  if bu > now then delay = delay + (bu - now) end
elseif op == 'hold' then
  local d = tonumber(ARGV[2])
  if now + d > bu then bu = now + d end
else
  local retryAfter, coolDown, minFactor = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
  if now < pu then factor = math.max(factor / 2, minFactor) else factor = 0.5 end
  pu = now + retryAfter + coolDown
  if now + retryAfter > bu then bu = now + retryAfter end
  if tokens ~= nil then
    if tokens >= 1 then tokens = tokens - math.floor(tokens) end
    eff = rate * factor
  end
end
local function num(x) return string.format('%.17g', x) end
if tokens ~= nil then
  redis.call('HSET', key, 'tokens', num(tokens), 'ts', num(now), 'rate', num(rate), 'eff', num(eff), 'burst', num(burst),
    'factor', num(factor), 'pu', num(pu), 'bu', num(bu))
else
  redis.call('HSET', key, 'factor', num(factor), 'pu', num(pu), 'bu', num(bu))
end
local keep = math.max(pu - now, bu - now, 0)
if tokens ~= nil then keep = math.max(keep, (burst - tokens) / eff * 1e6) end
redis.call('PEXPIRE', key, math.ceil(keep / 1000) + 60000)
return math.ceil(delay)
`)

// Redis is the rate limiter of the distributed mode: its buckets live in Redis, so every worker process paces
// calls against the same quota. Safe for concurrent use; set the exported fields before first use.
type Redis struct {
	// PenaltyCoolDown is how long a key stays slowed after a 429; zero means DefaultPenaltyCoolDown.
	PenaltyCoolDown time.Duration

	client redis.Scripter
	prefix string
}

// NewRedis returns a limiter keeping its buckets in client under prefix (DefaultRedisPrefix when empty), so
// several Ferry installations, or tests, can share one Redis.
func NewRedis(client redis.Scripter, prefix string) *Redis {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	return &Redis{client: client, prefix: prefix}
}

// Reserve takes the next slot of key's bucket and returns how long until it is due.
func (r *Redis) Reserve(ctx context.Context, key string, limit nodes.Limit) (time.Duration, error) {
	limit, ok := normalize(limit)
	if !ok {
		return 0, nil
	}
	us, err := bucketScript.Run(ctx, r.client, []string{r.prefix + key}, "reserve", limit.Rate, limit.Burst).Int64()
	if err != nil {
		return 0, fmt.Errorf("limits: reserve %s: %w", key, err)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// Penalize slows key down after a 429: its spare tokens go, no slot is given before retryAfter from now, and
// its rate is halved until PenaltyCoolDown after that.
func (r *Redis) Penalize(ctx context.Context, key string, retryAfter time.Duration) error {
	err := bucketScript.Run(ctx, r.client, []string{r.prefix + key}, "penalize",
		max(retryAfter, 0).Microseconds(), coolDownOr(r.PenaltyCoolDown).Microseconds(), MinPenaltyFactor).Err()
	if err != nil {
		return fmt.Errorf("limits: penalize %s: %w", key, err)
	}
	return nil
}

// Hold gives key no slot before d from now, keeping its rate and its tokens: the provider said its own bucket
// needs that long to refill.
func (r *Redis) Hold(ctx context.Context, key string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if err := bucketScript.Run(ctx, r.client, []string{r.prefix + key}, "hold", d.Microseconds()).Err(); err != nil {
		return fmt.Errorf("limits: hold %s: %w", key, err)
	}
	return nil
}

var _ engine.Limiter = (*Redis)(nil)
