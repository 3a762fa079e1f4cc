package crm

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ferry-hq/ferry/nodes"
)

// An ambiguous match is never settled by a guess: the flow follows the ambiguous port, or, with "ask a person",
// the run parks (nodes.Park) until an operator picks one of the candidates or none of them in the reviews
// screen; the run then follows found with the chosen record, or none.

// ReviewKind is the kind of park an ambiguous match's review is (nodes.Park.Kind).
const ReviewKind = "crm.match"

// On an ambiguous match.
const (
	// AmbiguousPort follows the ambiguous port with the candidates.
	AmbiguousPort = "port"
	// AmbiguousReview parks the run until a person picks a candidate or none.
	AmbiguousReview = "review"
)

// MatchReview is what an operator is shown of an ambiguous match: the customer's keys, by field, as searched,
// and the candidates.
type MatchReview struct {
	Provider   string            `json:"provider"`
	Object     string            `json:"object,omitempty"`
	Customer   map[string]string `json:"customer"`
	Candidates []Candidate       `json:"candidates"`
	More       bool              `json:"more,omitempty"`
}

// MatchDecision is an operator's answer to a MatchReview: a candidate's id, or "" for none of them (a new
// record is created by the flow's none branch).
type MatchDecision struct {
	Candidate *string `json:"candidate"`
}

func init() {
	nodes.RegisterDecision(ReviewKind, checkMatchDecision)
}

// checkMatchDecision accepts a candidate the review listed, or "" for none.
func checkMatchDecision(request, decision json.RawMessage) error {
	var rv MatchReview
	if err := json.Unmarshal(request, &rv); err != nil {
		return fmt.Errorf("the review cannot be read: %v", err)
	}
	var d MatchDecision
	if err := json.Unmarshal(decision, &d); err != nil || d.Candidate == nil {
		return errors.New(`a decision is {"candidate": "<id>"}, or {"candidate": ""} for none of them`)
	}
	if *d.Candidate == "" {
		return nil
	}
	for _, c := range rv.Candidates {
		if c.ID == *d.Candidate {
			return nil
		}
	}
	return fmt.Errorf("%s is not one of this review's candidates", *d.Candidate)
}

// reviewParams are the match node's fields for an ambiguous match.
func reviewParams() []nodes.Field {
	return []nodes.Field{
		{Name: "onAmbiguous", TextKey: "crm.match.onAmbiguous", Label: "When several records match", Type: nodes.TypeSelect,
			Default: AmbiguousPort,
			Description: "Follow the ambiguous port with the candidates, or ask a person: the run waits until an operator picks " +
				"one of the candidates (the run follows found with it) or none of them (none) in the reviews screen.",
			Options: []nodes.Option{
				{Value: AmbiguousPort, Label: "Follow the ambiguous port"},
				{Value: AmbiguousReview, Label: "Ask a person to choose"},
			}},
		{Name: "reviewTimeout", TextKey: "crm.match.reviewTimeout", Label: "Review times out after", Type: nodes.TypeDuration,
			Default: "72h", ShowIf: map[string][]any{"onAmbiguous": {AmbiguousReview}},
			Description: "How long the run waits for a choice; then it follows the ambiguous port."},
	}
}

// review parks an ambiguous result for a person, or, on resume, turns their choice into the outcome.
func (m *Matcher) review(res *Result) (nodes.Result, error) {
	rv := MatchReview{Provider: m.provider, Object: m.object, Candidates: res.Candidates, More: res.More}
	rv.Customer = map[string]string{}
	for _, a := range res.Tried {
		if a.Value != "" {
			rv.Customer[a.Field] = a.Value
		}
	}
	what := ""
	if res.Key != nil {
		what = " by " + res.Key.Field + " " + res.Key.Value
	}
	title := fmt.Sprintf("%d %s records match%s", len(res.Candidates), m.provider, what)
	if res.More {
		title = fmt.Sprintf("More than %d %s records match%s", len(res.Candidates), m.provider, what)
	}
	return nodes.Result{Park: &nodes.Park{Kind: ReviewKind, Title: title, Request: rv, Timeout: m.timeout}}, nil
}

// decided follows the operator's choice: found with the candidate, none, or, when nobody chose in time, the
// ambiguous port with the candidates.
func (m *Matcher) decided(x *nodes.Exec) (nodes.Result, error) {
	var rv MatchReview
	if err := json.Unmarshal(x.Resume.Request, &rv); err != nil {
		return nodes.Result{}, nodes.NewPermanent(CodeSearchInvalid, fmt.Errorf("%s: read the review: %w", m.Type, err))
	}
	res := &Result{Outcome: Ambiguous, Candidates: rv.Candidates, More: rv.More}
	if !x.Resume.TimedOut {
		var d MatchDecision
		if err := json.Unmarshal(x.Resume.Decision, &d); err != nil || d.Candidate == nil {
			return nodes.Result{}, nodes.NewPermanent(CodeSearchInvalid, fmt.Errorf("%s: read the decision: %v", m.Type, err))
		}
		res = &Result{Outcome: None}
		for _, c := range rv.Candidates {
			if c.ID == *d.Candidate {
				res = &Result{Outcome: Found, ID: c.ID, Label: c.Label, Record: c.Fields, Matched: c.Matched}
			}
		}
	}
	out, err := res.Output()
	if err != nil {
		return nodes.Result{}, nodes.NewPermanent(CodeSearchInvalid, fmt.Errorf("%s: %w", m.Type, err))
	}
	if o, ok := out.(map[string]any); ok {
		o["reviewed"] = map[string]any{"by": x.Resume.DecidedBy, "timedOut": x.Resume.TimedOut}
	}
	return nodes.Result{Output: out, Port: string(res.Outcome)}, nil
}

// maxReviewTimeout bounds the review timeout a match node accepts.
const maxReviewTimeout = nodes.MaxParkTimeout
