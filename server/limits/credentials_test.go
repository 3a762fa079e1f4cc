package limits_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/limits"
)

func init() {
	nodes.MustRegisterCredentialType(nodes.CredentialType{ID: "limitstest.shop", Name: "Shop",
		RateLimit: &nodes.Limit{Rate: 2, Burst: 40}})
	nodes.MustRegisterCredentialType(nodes.CredentialType{ID: "limitstest.plain", Name: "Plain"})
}

func TestCredentialTypeLimits(t *testing.T) {
	reads := 0
	types := map[string]string{"c-shop": "limitstest.shop", "c-plain": "limitstest.plain", "c-unknown": "limitstest.gone"}
	limitFor := limits.CredentialTypeLimits(func(_ context.Context, id string) (string, error) {
		reads++
		typ, ok := types[id]
		if !ok {
			return "", errors.New("not found")
		}
		return typ, nil
	})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if l, ok := limitFor(ctx, "c-shop"); !ok || l != (nodes.Limit{Rate: 2, Burst: 40}) {
			t.Fatalf("shop credential: %+v %v", l, ok)
		}
	}
	if reads != 1 {
		t.Errorf("%d store reads for one credential, want 1 (cached)", reads)
	}
	for _, id := range []string{"c-plain", "c-unknown", "c-missing"} {
		if l, ok := limitFor(ctx, id); ok {
			t.Errorf("%s: limited to %+v, want no limit", id, l)
		}
	}
}
