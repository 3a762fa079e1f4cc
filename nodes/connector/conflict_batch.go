package connector

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
)

// A batch upsert (Conflict.Records set) applies the node's policy record by record: it reads every record of
// the batch in one request (ReadMany), narrows each record's fields to what the policy writes, and leaves out
// of the request the records left with nothing to write. Those records are in the step's output all the same,
// as read, with written: false. Review is refused when the flow is saved (configure).

// resolveBatchConflict applies the node's conflict policy to each record of the batch r is about to send. It
// returns the request to send and the records it leaves out, as the output lists them; or, when no record is
// left to write, no request and the output to give instead.
func (n *node) resolveBatchConflict(ctx context.Context, x *nodes.Exec, fields map[string]string, r *request) (*request, []any, any, error) {
	cf, cc := n.c.op.Conflict, n.conflict
	if cc.policy == PolicySource || cc.policy == "" {
		return r, nil, nil, nil
	}
	// Two copies of the body: one for ReadMany and Key to look at, one to narrow.
	var seen, body map[string]any
	if json.Unmarshal(r.body, &seen) != nil || json.Unmarshal(r.body, &body) != nil {
		return nil, nil, nil, n.invalid("copy the body")
	}
	recordsAt, fieldsAt := MustPointer(cf.Records), MustPointer(cf.Fields)
	raw, _ := recordsAt.Get(body)
	records, _ := raw.([]any)
	if len(records) == 0 {
		return nil, nil, nil, n.invalid("the body has no list of records at %s", cf.Records)
	}
	sources := make([]map[string]any, len(records))
	names := map[string]bool{}
	for i, rec := range records {
		v, _ := fieldsAt.Get(rec)
		src, _ := v.(map[string]any)
		if src == nil {
			return nil, nil, nil, n.invalid("record %d has no fields at %s", i+1, cf.Fields)
		}
		sources[i] = src
		for name := range src {
			names[name] = true
		}
	}
	if cc.policy == PolicyNewer && cc.updatedField != "" {
		names[cc.updatedField] = true
	}
	base, call, err := n.readCall(x, fields, r)
	if err != nil {
		return nil, nil, nil, err
	}
	w := Write{Path: strings.TrimPrefix(r.url.EscapedPath(), strings.TrimSuffix(base.EscapedPath(), "/")), Body: seen}
	for name := range names {
		w.Fields = append(w.Fields, name)
	}
	sort.Strings(w.Fields)
	targets, err := cf.ReadMany(ctx, call, w)
	if err != nil {
		var typed *nodes.Error
		if errors.As(err, &typed) {
			return nil, nil, nil, err
		}
		return nil, nil, nil, n.invalid("read the records: %v", err)
	}
	if len(targets) != len(records) {
		return nil, nil, nil, n.invalid("read the records: %d found for %d records", len(targets), len(records))
	}
	var kept, left []any
	for i, rec := range records {
		target, src := targets[i], sources[i]
		if target == nil {
			kept = append(kept, rec) // nothing to conflict with: the upsert creates the record
			continue
		}
		key := map[string]bool{}
		if cf.Key != nil {
			recBody, _ := rec.(map[string]any)
			if name, _ := cf.Key(Write{Path: w.Path, Body: recBody, Fields: w.Fields}); name != "" {
				key[name] = true
			}
		}
		keep, _ := cf.narrow(cc.policy, src, target, key)
		if cc.policy == PolicyNewer {
			newer, err := n.sourceNewer(x, target)
			if err != nil {
				return nil, nil, nil, err
			}
			if !newer {
				clear(keep)
			}
		}
		writes := false
		for name := range src {
			switch {
			case !keep[name]:
				delete(src, name)
			case !key[name]:
				writes = true
			}
		}
		if !writes {
			left = append(left, map[string]any{"id": target.ID, "properties": target.Fields, "new": false, "written": false})
			continue
		}
		kept = append(kept, rec)
	}
	if len(kept) == 0 {
		// Nothing to change in any record: no write is sent, and the step outputs the records as read.
		out := MustPointer(cf.Results).Set(map[string]any{}, left)
		out["written"], out["policy"] = false, string(cc.policy)
		return nil, nil, out, nil
	}
	body = recordsAt.Set(body, kept)
	out := r.clone()
	out.jsonBody = body
	if err := out.encodeJSON(); err != nil {
		return nil, nil, nil, n.invalid("encode the body: %v", err)
	}
	return out, left, nil, nil
}

// withLeft is the batch's answer with the records the policy left alone added to its list of results, and
// every record it lists marked written or not.
func (n *node) withLeft(out any, left []any) any {
	cf, cc := n.c.op.Conflict, n.conflict
	m, ok := out.(map[string]any)
	if !ok || cc.policy == PolicySource || cc.policy == "" {
		return out
	}
	at := MustPointer(cf.Results)
	v, _ := at.Get(m)
	results, _ := v.([]any)
	for _, r := range results {
		if rec, ok := r.(map[string]any); ok {
			rec["written"] = true
		}
	}
	m = at.Set(m, append(results, left...))
	m["policy"] = string(cc.policy)
	return m
}
