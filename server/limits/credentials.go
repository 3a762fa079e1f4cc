package limits

import (
	"context"
	"sync"
	"time"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
)

// credentialTypeTTL is how long the type of a credential is remembered; a credential keeps its type for life,
// so this only bounds how long a deleted one lingers.
const credentialTypeTTL = 5 * time.Minute

// maxCachedCredentials bounds the cache; past it the cache starts over.
const maxCachedCredentials = 10000

// CredentialTypeLimits returns an engine.LimitResolver that gives each credential the quota its type documents
// (nodes.CredentialType.RateLimit), so every flow using a Shopify or HubSpot credential is paced without anyone
// setting a number. typeOf reads a credential's type id from the store; answers are cached, so a step does not
// cost a store read. A credential whose type cannot be read is not paced: the provider's own 429 answers
// still slow it down.
func CredentialTypeLimits(typeOf func(ctx context.Context, credentialID string) (string, error)) engine.LimitResolver {
	type entry struct {
		typ string
		at  time.Time
	}
	var mu sync.Mutex
	cache := map[string]entry{}
	return func(ctx context.Context, credentialID string) (nodes.Limit, bool) {
		now := time.Now()
		mu.Lock()
		e, ok := cache[credentialID]
		mu.Unlock()
		if !ok || now.Sub(e.at) > credentialTypeTTL {
			typ, err := typeOf(ctx, credentialID)
			if err != nil {
				return nodes.Limit{}, false
			}
			e = entry{typ: typ, at: now}
			mu.Lock()
			if len(cache) >= maxCachedCredentials {
				clear(cache)
			}
			cache[credentialID] = e
			mu.Unlock()
		}
		t, ok := nodes.LookupCredentialType(e.typ)
		if !ok || t.RateLimit == nil || !t.RateLimit.Enabled() {
			return nodes.Limit{}, false
		}
		return *t.RateLimit, true
	}
}
