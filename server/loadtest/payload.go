package loadtest

import (
	"bytes"
	_ "embed"
	"strconv"
)

// payload is the reference order/payment body (about 590 bytes): a paid order with a customer, two items,
// shipping and payment details, the same body the other tools in the side-by-side comparison receive.
//
//go:embed payload.json
var payload []byte

// orderIDField is where the payload's order id starts; each request replaces the id so that every request is
// a new event for the flow's dedup key.
const orderIDField = `"order_id":"`

// slabSize is how many bytes of bodies are allocated at once: one allocation serves about a hundred requests.
const slabSize = 64 << 10

// bodies writes request bodies: the payload with a unique order id. Bodies are carved out of large slabs and a
// body's bytes are never written again, so the HTTP transport may keep reading one after the request returned.
// One bodies value belongs to one goroutine.
type bodies struct {
	prefix, suffix []byte // the payload before and after the order id
	idPrefix       []byte // "bench_<tag>_"
	slab           []byte
}

func newBodies(orderPrefix string) *bodies {
	trimmed := bytes.TrimSpace(payload)
	i := bytes.Index(trimmed, []byte(orderIDField))
	if i < 0 {
		panic("loadtest: the reference payload has no order_id")
	}
	start := i + len(orderIDField)
	end := bytes.IndexByte(trimmed[start:], '"')
	if end < 0 {
		panic("loadtest: the reference payload's order_id is not a string")
	}
	return &bodies{prefix: trimmed[:start], suffix: trimmed[start+end:], idPrefix: []byte(orderPrefix)}
}

// orderID is the order id of request seq in a benchmark whose ids start with prefix.
func orderID(prefix string, seq int64) string {
	return prefix + strconv.FormatInt(seq, 10)
}

// next returns the body of request seq.
func (b *bodies) next(seq int64) []byte {
	n := len(b.prefix) + len(b.idPrefix) + 20 + len(b.suffix)
	if cap(b.slab)-len(b.slab) < n {
		b.slab = make([]byte, 0, max(slabSize, n))
	}
	start := len(b.slab)
	b.slab = append(b.slab, b.prefix...)
	b.slab = append(b.slab, b.idPrefix...)
	b.slab = strconv.AppendInt(b.slab, seq, 10)
	b.slab = append(b.slab, b.suffix...)
	return b.slab[start:len(b.slab):len(b.slab)]
}
