package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/queue"
	"github.com/ferry-hq/ferry/server/store"
)

// children are the child runs of a split (core.split), committed with the parent's progress as it parks: each a
// live run of the same flow version starting at the split's port with its item. A child stores only its item:
// the parent's trigger, variables and outputs are lent to it when it executes (parentContext). The store decides
// which are new, which are retried and which are held (Progress.Children).
func (r *Runner) children(run *store.Run, c *flows.Compiled, sp *engine.Splitting) []*store.Run {
	now := time.Now().UTC()
	out := make([]*store.Run, len(sp.Items))
	for i, item := range sp.Items {
		key := sp.Keys[i]
		bk := key
		if run.BusinessKey != "" {
			bk = run.BusinessKey + ":" + key
		}
		child := &store.Run{
			ID: uuid.Must(uuid.NewV7()).String(), FlowID: run.FlowID, FlowVersion: run.FlowVersion, Doc: run.Doc,
			Mode: run.Mode, Status: store.RunQueued, TriggerNode: run.TriggerNode,
			DedupKey: childKeyPrefix + run.ID + ":" + sp.NodeID + ":" + key, BusinessKey: bk, Attempt: 1,
			AvailableAt: now, CreatedAt: now, ParentRunID: run.ID, ChildIndex: i,
		}
		if sp.Flow != nil && sp.Target != nil {
			// A subflow's run: the other flow's version, from its trigger, with the item as its payload.
			trigger := subflowTrigger(sp.Target)
			child.FlowID, child.FlowVersion, child.Doc, child.TriggerNode = sp.Flow.FlowID, sp.Version, nil, trigger
			child.Trigger = mustJSON(item)
			child.Checkpoint = mustJSON(engine.NewState(sp.Target, trigger, item))
			child.BusinessKey = run.BusinessKey
		} else {
			child.Checkpoint = mustJSON(engine.ChildState(c, sp.NodeID, sp.Port, item))
		}
		out[i] = child
	}
	return out
}

// subflowTrigger is the trigger a subflow's run starts at: the flow's manual trigger, else its first.
func subflowTrigger(c *flows.Compiled) string {
	for _, t := range c.Triggers {
		if t.Spec.Type == "core.manual" {
			return t.Def.ID
		}
	}
	return c.Triggers[0].Def.ID
}

// subflowTarget is the engine's Subflows hook: the flow version a subflow step starts, the published one when
// version is 0.
func (r *Runner) subflowTarget(ctx context.Context, flowID string, version int) (*flows.Compiled, int, error) {
	if version > 0 {
		l, err := r.Version(ctx, flowID, version)
		if err != nil {
			return nil, 0, err
		}
		return l.Compiled, version, nil
	}
	_, l, err := r.Published(ctx, flowID)
	if err != nil {
		return nil, 0, err
	}
	return l.Compiled, l.Version, nil
}

// childKeyPrefix starts a child run's dedup key: "child:<parent run>:<split node>:<item key>".
const childKeyPrefix = "child:"

// childKey is the item key a child's dedup key carries.
func childKey(dedup string) string {
	rest := strings.TrimPrefix(dedup, childKeyPrefix)
	for range 2 { // the parent's run id and the split node's id hold no colon
		if i := strings.IndexByte(rest, ':'); i >= 0 {
			rest = rest[i+1:]
		}
	}
	return rest
}

// childrenEnded is the Resume hook of a step waiting for its children: while some are open the parent waits on
// (until its deadline), and once all have ended it resumes with their summary. A parent past its deadline resumes
// as timed out with the summary so far; its open children go on.
func (r *Runner) childrenEnded(ctx context.Context, runID, waitID string) (*nodes.Resume, time.Time, error) {
	parent, err := r.Store.GetRun(ctx, runID)
	if err != nil {
		return nil, time.Time{}, err
	}
	timedOut := false
	if parent.ChildrenOpen > 0 {
		if time.Now().Before(parent.AvailableAt) {
			return nil, parent.AvailableAt, nil
		}
		timedOut = true
	}
	summary, err := r.childrenSummary(ctx, runID)
	if err != nil {
		return nil, time.Time{}, err
	}
	b, err := json.Marshal(summary)
	if err != nil {
		return nil, time.Time{}, err
	}
	return &nodes.Resume{WaitID: waitID, Decision: b, TimedOut: timedOut}, time.Time{}, nil
}

// childrenSummary counts a parent's children by status and lists the ones that did not succeed, and every one
// when the split collects outputs (their last step's output).
func (r *Runner) childrenSummary(ctx context.Context, parentID string) (map[string]any, error) {
	var all []store.Run
	f := store.RunFilter{ParentRunID: parentID, Limit: 500}
	for {
		page, err := r.Store.ListRuns(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Runs...)
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ChildIndex < all[j].ChildIndex })
	counts := map[string]int{}
	listed := []any{}
	collect := r.collects(ctx, parentID)
	collect = collect || len(all) == 1 // a single child (a subflow) always gives its output
	for _, c := range all {
		counts[c.Status]++
		if c.Status == store.RunSucceeded && !collect {
			continue
		}
		entry := map[string]any{"index": c.ChildIndex, "key": childKey(c.DedupKey), "runId": c.ID, "status": c.Status}
		if len(c.Error) > 0 {
			var e engine.StepError
			if json.Unmarshal(c.Error, &e) == nil {
				entry["error"] = map[string]any{"code": e.Code, "message": e.Message, "nodeId": e.NodeID}
			}
		}
		if collect && c.Status == store.RunSucceeded && len(c.Response) > 0 {
			var resp nodes.Response
			if json.Unmarshal(c.Response, &resp) == nil {
				entry["output"] = resp.Body // a flow that answers (core.respond) gives its answer
			}
		} else if collect && c.Status == store.RunSucceeded {
			steps, err := r.Store.ListSteps(ctx, c.ID)
			if err != nil {
				return nil, err
			}
			if len(steps) > 0 {
				var out any
				if json.Unmarshal(steps[len(steps)-1].Output, &out) == nil {
					entry["output"] = out
				}
			}
		}
		listed = append(listed, entry)
	}
	return map[string]any{"total": len(all), "succeeded": counts[store.RunSucceeded], "failed": counts[store.RunFailed],
		"cancelled": counts[store.RunCancelled], "children": listed}, nil
}

// collects reports whether the split a parent waits at collects its children's outputs: read from the parent's
// flow version, where the node's parameters are.
func (r *Runner) collects(ctx context.Context, parentID string) bool {
	parent, err := r.Store.GetRun(ctx, parentID)
	if err != nil || len(parent.Checkpoint) == 0 {
		return false
	}
	var st engine.State
	if json.Unmarshal(parent.Checkpoint, &st) != nil || len(st.Pending) == 0 {
		return false
	}
	var l *Loaded
	if parent.FlowVersion == 0 {
		l, err = Compile(parent.FlowID, 0, parent.Doc)
	} else {
		l, err = r.Version(ctx, parent.FlowID, parent.FlowVersion)
	}
	if err != nil {
		return false
	}
	n := l.Compiled.Nodes[st.Pending[0].Node]
	if n == nil {
		return false
	}
	var collect bool
	_ = json.Unmarshal(n.Def.Params["collect"], &collect)
	return collect
}

// enqueueIDs hands runs a save made claimable to the queue; a lost enqueue only delays them until the sweeper.
func (r *Runner) enqueueIDs(ids []string) {
	if len(ids) == 0 {
		return
	}
	now := time.Now()
	entries := make([]queue.Entry, len(ids))
	for i, id := range ids {
		entries[i] = queue.Entry{RunID: id, At: now}
	}
	if err := r.Queue.EnqueueBatch(context.Background(), entries); err != nil {
		r.Logger.Warn("enqueue failed; the sweeper will pick the runs up", "runs", len(ids), "err", err)
	}
}

// parentContext is what a child run borrows from its parent: the trigger payload, and the variables and node
// outputs the parent had when it split (its checkpoint, which does not change while it waits). Decoded once per
// parent and shared, read-only, by its children.
type parentContext struct {
	trigger any
	vars    map[string]any
	outputs map[string]any
}

// maxCachedParents bounds the parents whose context is kept decoded; a parent dropped is read again.
const maxCachedParents = 256

type parentCache struct {
	mu      sync.Mutex
	entries map[string]*parentContext
}

// parentOf returns the context a child of parentID borrows.
func (r *Runner) parentOf(ctx context.Context, parentID string) (*parentContext, error) {
	r.parents.mu.Lock()
	pc := r.parents.entries[parentID]
	r.parents.mu.Unlock()
	if pc != nil {
		return pc, nil
	}
	parent, err := r.Store.GetRun(ctx, parentID)
	if err != nil {
		return nil, fmt.Errorf("read parent run %s: %w", parentID, err)
	}
	pc = &parentContext{}
	if len(parent.Trigger) > 0 {
		if err := json.Unmarshal(parent.Trigger, &pc.trigger); err != nil {
			return nil, fmt.Errorf("decode the trigger of parent run %s: %w", parentID, err)
		}
	}
	if len(parent.Checkpoint) > 0 {
		var st engine.State
		if err := json.Unmarshal(parent.Checkpoint, &st); err != nil {
			return nil, fmt.Errorf("decode the checkpoint of parent run %s: %w", parentID, err)
		}
		pc.vars, pc.outputs = st.Vars, st.Outputs
	}
	r.parents.mu.Lock()
	if r.parents.entries == nil || len(r.parents.entries) >= maxCachedParents {
		r.parents.entries = map[string]*parentContext{}
	}
	r.parents.entries[parentID] = pc
	r.parents.mu.Unlock()
	return pc, nil
}
