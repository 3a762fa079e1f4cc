package testnodes

import (
	"context"
	"sync"
	"time"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// Execution is one run of a test.record node: which key and sequence number it carried, and when it started and
// ended, so tests can check what ran at the same time and in which order.
type Execution struct {
	Key        string
	Seq        int
	Start, End time.Time
}

var (
	recMu    sync.Mutex
	recorded []Execution
)

// Recorded returns the executions of test.record nodes since ResetRecorded, in the order they ended.
func Recorded() []Execution {
	recMu.Lock()
	defer recMu.Unlock()
	return append([]Execution(nil), recorded...)
}

// ResetRecorded forgets recorded executions.
func ResetRecorded() {
	recMu.Lock()
	recorded = nil
	recMu.Unlock()
}

type record struct {
	key, seq *expression.Program
	pause    time.Duration
}

func (n record) Execute(ctx context.Context, x *nodes.Exec) (nodes.Result, error) {
	e := Execution{Start: time.Now()}
	if v, err := n.key.Eval(x.Env); err == nil {
		e.Key = expression.Stringify(v)
	}
	if v, err := n.seq.Eval(x.Env); err == nil {
		if f, ok := v.(float64); ok {
			e.Seq = int(f)
		} else if i, ok := v.(int); ok {
			e.Seq = i
		}
	}
	select {
	case <-time.After(n.pause):
	case <-ctx.Done():
		return nodes.Result{}, ctx.Err()
	}
	e.End = time.Now()
	recMu.Lock()
	recorded = append(recorded, e)
	recMu.Unlock()
	return nodes.Result{Output: x.Input}, nil
}

func init() {
	nodes.MustRegister(nodes.Spec{Type: "test.record", Version: 1, Name: "Record", Category: nodes.CategoryUtilities,
		Inputs: main, Outputs: main, Params: []nodes.Field{
			{Name: "key", Label: "Key", Type: nodes.TypeExpr, Required: true},
			{Name: "seq", Label: "Sequence", Type: nodes.TypeExpr, Required: true},
			{Name: "pause", Label: "Pause", Type: nodes.TypeDuration, Default: "10ms"},
		}}, func(cfg *nodes.Config) (nodes.Node, error) {
		return record{key: cfg.Expr("key", expression.ResultAny), seq: cfg.Expr("seq", expression.ResultAny),
			pause: cfg.Duration("pause")}, cfg.Err()
	})
}
