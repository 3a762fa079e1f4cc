package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// A person decides: the run parks (nodes.Park, the one mechanism of parked runs) until someone the approval is
// assigned to approves or rejects it in the reviews screen or through the API, or its timeout passes; the step
// then runs again and follows approved, rejected or timeout with who decided, when, and their comment.

// ApprovalType is the node type that waits for a person's approval.
const ApprovalType = "core.approval"

// ApprovalKind is the kind of park an approval is (nodes.Park.Kind), listed with the reviews.
const ApprovalKind = "approval"

// The approval node's output ports.
const (
	ApprovedPort = "approved"
	RejectedPort = "rejected"
	TimeoutPort  = "timeout"
)

// Approval failure codes.
const (
	// CodeApprovalAssigneeInvalid fails a step whose assignee, read from the run's data, names nobody valid.
	CodeApprovalAssigneeInvalid = "approval_assignee_invalid"
	// CodeApprovalDecisionInvalid fails a resumed step whose stored request or decision cannot be read.
	CodeApprovalDecisionInvalid = "approval_decision_invalid"
)

// maxApprovalDetails bounds the details shown to the approver, which live in the wait's request.
const maxApprovalDetails = 20000

// ApprovalRequest is what the approver is shown (the wait's request): the title, the details, who may decide,
// whether a rejection needs a comment, and the step's input.
type ApprovalRequest struct {
	Title   string `json:"title"`
	Details string `json:"details,omitempty"`
	// Assignee restricts who may decide (nodes.AssigneeOf reads it under this key).
	Assignee                nodes.Assignee `json:"assignee"`
	CommentRequiredOnReject bool           `json:"commentRequiredOnReject,omitempty"`
	Input                   any            `json:"input,omitempty"`
}

// ApprovalDecision is a person's answer to an approval: approve or not, and a comment.
type ApprovalDecision struct {
	Approve *bool  `json:"approve"`
	Comment string `json:"comment,omitempty"`
}

// maxApprovalComment bounds a decision's comment.
const maxApprovalComment = 4000

func init() {
	nodes.RegisterDecision(ApprovalKind, checkApprovalDecision)
	nodes.MustRegister(nodes.Spec{
		Type:        ApprovalType,
		Version:     1,
		Name:        "Approval",
		Category:    nodes.CategoryLogic,
		Description: "Waits until a person approves or rejects, in the reviews screen or through the API.",
		Inputs:      []nodes.Port{{ID: nodes.DefaultPort, Label: "Input", Kind: nodes.PortMain}},
		Outputs: []nodes.Port{
			{ID: ApprovedPort, Label: "Approved", Kind: nodes.PortMain},
			{ID: RejectedPort, Label: "Rejected", Kind: nodes.PortMain},
			{ID: TimeoutPort, Label: "Timed out", Kind: nodes.PortMain},
		},
		Params: []nodes.Field{
			{
				Name: "title", Label: "Title", Type: nodes.TypeString, Required: true, Expression: true,
				Default:     "Approval needed",
				Description: "One line for the list of reviews; may use {{ }} to name what is asked.",
				Examples: []nodes.Example{
					{Name: "A refund", Value: "Refund {{ trigger.body.amount }} {{ trigger.body.currency }} to {{ trigger.body.email }}"},
				},
			},
			{
				Name: "details", Label: "Details", Type: nodes.TypeText, Expression: true,
				Description: "What the approver needs to decide, shown with the title; Markdown is shown formatted " +
					"(links, lists, emphasis; no HTML). May use {{ }}.",
				Examples: []nodes.Example{
					{Name: "Order and reason", Value: "Order **{{ trigger.body.order }}**\n\nReason: {{ trigger.body.reason }}"},
				},
			},
			{
				Name: "role", Label: "Role that may decide", Type: nodes.TypeSelect, Default: "operator",
				Description: "People with this role may approve or reject; admins always may. Choose \"Only the " +
					"listed people\" to leave it to the people below.",
				Options: []nodes.Option{
					{Value: "operator", Label: "Operators"},
					{Value: "editor", Label: "Editors"},
					{Value: "admin", Label: "Admins only"},
					{Value: "none", Label: "Only the listed people"},
				},
			},
			{
				Name: "users", Label: "People who may decide", Type: nodes.TypeString, Expression: true,
				Description: "E-mail addresses of Ferry users who may decide whatever their role, separated by commas; " +
					"may use {{ }} (the requester's manager from the payload).",
				Examples: []nodes.Example{
					{Name: "Two people", Value: "finance@example.com, cfo@example.com"},
					{Name: "From the payload", Value: "{{ trigger.body.manager_email }}"},
				},
			},
			{
				Name: "timeout", Label: "Times out after", Type: nodes.TypeDuration, Default: "72h",
				Description: "How long the run waits for a decision, at most 90 days (2160h); then it follows " +
					"the timeout port.",
			},
			{
				Name: "commentOnReject", Label: "Comment required to reject", Type: nodes.TypeBoolean, Default: true,
				Description: "A rejection must say why; the comment goes down the rejected port.",
			},
			{
				Name: "testDecision", Label: "In test runs", Type: nodes.TypeSelect, Default: ApprovedPort, Advanced: true,
				Description: "A test run answers in the editor and cannot wait for a person: it asks nobody and follows " +
					"this port, marking the decision as simulated, so each branch can be tried.",
				Options: []nodes.Option{
					{Value: ApprovedPort, Label: "Follow approved"},
					{Value: RejectedPort, Label: "Follow rejected"},
					{Value: TimeoutPort, Label: "Follow timed out"},
				},
			},
		},
		Docs: "Parks the run, holding no worker, until a person decides. The approval is listed in the reviews " +
			"screen (the menu counts open ones) and at `GET /api/v1/reviews?kind=approval`; it is decided there or " +
			"with `POST /api/v1/reviews/{id}/decision` and `{\"approve\": true|false, \"comment\": \"…\"}`. Only " +
			"people with the chosen role, the listed people, and admins may decide (others get 403 " +
			"`approval_not_assignee`); the first decision wins, a later one gets 409 `review_closed`. The run " +
			"then follows approved or rejected; nobody deciding in time follows timeout. Who decided and when is " +
			"in the step's output and in the audit log (`review.decide`).\n\n" +
			"**Notifying the approver:** put a notification node (e-mail, DingTalk, Slack…) before this one with a " +
			"link to `https://<your Ferry>/reviews?run={{ run.id }}`, which opens this run's approval.\n\n" +
			"**Test runs** ask nobody: they follow the port chosen under \"In test runs\" (approved by default) " +
			"with `approval.simulated` set.\n\n" +
			"**Output:** the input with `approval`: `decision` (`approved`, `rejected` or `timeout`), `comment`, " +
			"`by` (the decider's e-mail), `at` (when), `waitId`.\n\n" +
			"**Example:** a refund over 500 CNY goes to finance: approved → refund, rejected → tell the customer.",
	}, newApproval)
}

type approvalNode struct {
	title, details, users *expression.Template
	role                  string
	timeout               time.Duration
	commentOnReject       bool
	testDecision          string
}

func newApproval(cfg *nodes.Config) (nodes.Node, error) {
	n := &approvalNode{
		title: cfg.Template("title"), details: cfg.Template("details"), users: cfg.Template("users"),
		role: cfg.String("role"), timeout: cfg.Duration("timeout"), commentOnReject: cfg.Bool("commentOnReject"),
		testDecision: cfg.String("testDecision"),
	}
	if n.timeout <= 0 || n.timeout > nodes.MaxParkTimeout {
		cfg.Fail("timeout", nodes.CodeParamInvalid, "the timeout must be more than zero and at most 90 days (2160h)")
	}
	if n.users != nil && n.users.Static() {
		s, _ := n.users.EvalString(nil)
		users, err := approvers(s)
		if err != nil {
			cfg.Fail("users", nodes.CodeParamInvalid, err.Error())
		}
		if len(users) == 0 && n.role == "none" {
			cfg.Fail("users", nodes.CodeParamInvalid, "list at least one person, or choose a role that may decide")
		}
	} else if n.users == nil && n.role == "none" {
		cfg.Fail("users", nodes.CodeParamInvalid, "list at least one person, or choose a role that may decide")
	}
	return n, cfg.Err()
}

// approvers reads a comma-separated list of e-mail addresses; blanks are skipped.
func approvers(s string) ([]string, error) {
	var out []string
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !isEmail(part) {
			return nil, fmt.Errorf("%q is not an e-mail address", part)
		}
		out = append(out, strings.ToLower(part))
	}
	return out, nil
}

// Execute parks a live run for a decision, follows the decision when the run resumes, or, in a test run,
// follows the chosen port without asking anyone.
func (n *approvalNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	if x.Resume != nil {
		return n.decided(x)
	}
	env := envOf(x)
	title := ""
	if n.title != nil {
		var err error
		if title, err = n.title.EvalString(env); err != nil {
			return nodes.Result{}, nodes.EvalFailed("approval", "title", err)
		}
	}
	title = strings.TrimSpace(title)
	if title == "" {
		title = "Approval needed"
	}
	details := ""
	if n.details != nil {
		var err error
		if details, err = n.details.EvalString(env); err != nil {
			return nodes.Result{}, nodes.EvalFailed("approval", "details", err)
		}
		if len(details) > maxApprovalDetails {
			details = details[:maxApprovalDetails] + "…"
		}
	}
	assignee := nodes.Assignee{}
	if n.role != "none" {
		assignee.Role = n.role
	}
	if n.users != nil {
		s, err := n.users.EvalString(env)
		if err != nil {
			return nodes.Result{}, nodes.EvalFailed("approval", "users", err)
		}
		if assignee.Users, err = approvers(s); err != nil {
			return nodes.Result{}, nodes.NewPermanent(CodeApprovalAssigneeInvalid, fmt.Errorf("approval: users: %w", err))
		}
	}
	if assignee.Role == "" && len(assignee.Users) == 0 {
		return nodes.Result{}, nodes.NewPermanent(CodeApprovalAssigneeInvalid,
			errors.New("approval: nobody may decide: the listed people came out empty and no role is chosen"))
	}
	if x.Mode != nodes.ModeLive {
		return n.simulated(x, title, assignee), nil
	}
	req := ApprovalRequest{Title: title, Details: details, Assignee: assignee, CommentRequiredOnReject: n.commentOnReject, Input: x.Input}
	return nodes.Result{Park: &nodes.Park{Kind: ApprovalKind, Title: title, Request: req, Timeout: n.timeout}}, nil
}

// simulated is a test run's answer: nobody is asked, the chosen port is followed and says so.
func (n *approvalNode) simulated(x *nodes.Exec, title string, assignee nodes.Assignee) nodes.Result {
	decision := n.testDecision
	if decision == TimeoutPort {
		decision = "timeout"
	}
	out := map[string]any{"decision": decision, "comment": "", "by": "", "at": now().UTC().Format(time.RFC3339),
		"waitId": "", "simulated": true, "title": title, "assignee": assignee,
		"note": "test run: nobody was asked; a live run waits for " + assignee.String()}
	return nodes.Result{Port: n.testDecision, Output: withField(x.Input, "approval", out)}
}

// decided follows how the wait ended: approved, rejected (with the comment) or timed out.
func (n *approvalNode) decided(x *nodes.Exec) (nodes.Result, error) {
	r := x.Resume
	var req ApprovalRequest
	if err := json.Unmarshal(r.Request, &req); err != nil && !r.TimedOut {
		return nodes.Result{}, nodes.NewPermanent(CodeApprovalDecisionInvalid, fmt.Errorf("approval: read the request: %w", err))
	}
	input := x.Input
	out := map[string]any{"waitId": r.WaitID, "comment": "", "by": "", "at": ""}
	port := TimeoutPort
	if r.TimedOut {
		out["decision"] = "timeout"
		out["at"] = now().UTC().Format(time.RFC3339)
	} else {
		var d ApprovalDecision
		if err := json.Unmarshal(r.Decision, &d); err != nil || d.Approve == nil {
			return nodes.Result{}, nodes.NewPermanent(CodeApprovalDecisionInvalid, fmt.Errorf("approval: read the decision %s", r.Decision))
		}
		port, out["decision"] = RejectedPort, "rejected"
		if *d.Approve {
			port, out["decision"] = ApprovedPort, "approved"
		}
		out["comment"], out["by"] = d.Comment, r.DecidedBy
		if !r.DecidedAt.IsZero() {
			out["at"] = r.DecidedAt.UTC().Format(time.RFC3339)
		}
	}
	return nodes.Result{Port: port, Output: withField(input, "approval", out)}, nil
}

// checkApprovalDecision accepts {"approve": true|false, "comment": "…"}, refusing a rejection without a comment
// when the approval requires one.
func checkApprovalDecision(request, decision json.RawMessage) error {
	var req ApprovalRequest
	if err := json.Unmarshal(request, &req); err != nil {
		return fmt.Errorf("the approval cannot be read: %v", err)
	}
	var d ApprovalDecision
	dec := json.NewDecoder(strings.NewReader(string(decision)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil || d.Approve == nil {
		return errors.New(`a decision is {"approve": true} or {"approve": false, "comment": "why"}`)
	}
	if len(d.Comment) > maxApprovalComment {
		return fmt.Errorf("the comment is longer than %d bytes", maxApprovalComment)
	}
	if !*d.Approve && req.CommentRequiredOnReject && strings.TrimSpace(d.Comment) == "" {
		return errors.New("a rejection of this approval needs a comment saying why")
	}
	return nil
}

var _ nodes.Node = (*approvalNode)(nil)
