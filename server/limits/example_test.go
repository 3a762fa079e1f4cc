package limits_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/limits"
)

// A Shopify credential allows 2 calls a second with bursts of 40. The limiter hands out slots: the first 40
// calls go at once, then one every half second; the engine sleeps for short waits and parks the run for long
// ones. After a 429 with Retry-After: 10, nothing goes for ten seconds, and then at half the rate: the two
// calls already waiting keep their turn, so the next one is due 10s + 3 × 1s from now.
func ExampleNewMemory() {
	at := time.Date(2026, time.November, 11, 0, 0, 0, 0, time.UTC)
	m := limits.NewMemory()
	m.Now = func() time.Time { return at } // a fixed clock, to print exact slots
	var l engine.Limiter = m
	ctx := context.Background()
	shopify := nodes.Limit{Rate: 2, Burst: 40}
	for i := 1; i <= 42; i++ {
		d, _ := l.Reserve(ctx, "credential:shop-1:live", shopify)
		if i == 1 || i >= 40 {
			fmt.Printf("call %d: in %s\n", i, d)
		}
	}
	_ = l.Penalize(ctx, "credential:shop-1:live", 10*time.Second)
	d, _ := l.Reserve(ctx, "credential:shop-1:live", shopify)
	fmt.Printf("after a 429: in %s\n", d)
	// Output:
	// call 1: in 0s
	// call 40: in 0s
	// call 41: in 500ms
	// call 42: in 1s
	// after a 429: in 13s
}
