package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
)

// PollType is the node type of the trigger that polls an sObject for records changed since the last poll.
const PollType = "salesforce.records.poll"

// Bounds of the polling trigger.
const (
	minPollInterval = 10 * time.Second
	maxPollPage     = 2000 // the most records one query answer holds
)

// soqlTime writes a time as a SOQL dateTime literal (UTC, milliseconds).
func soqlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// modstampLayouts are how Salesforce writes SystemModstamp in JSON ("2026-12-07T08:01:02.000+0000").
var modstampLayouts = []string{"2006-01-02T15:04:05.000-0700", time.RFC3339Nano}

func parseModstamp(s string) (time.Time, error) {
	for _, l := range modstampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("SystemModstamp %q is not a time", s)
}

func init() {
	nodes.MustRegister(nodes.Spec{
		Type: PollType, Version: 1, Name: "Salesforce: records changed", Category: nodes.CategoryCRM, Trigger: true, Polling: true,
		Description: "Polls an sObject for records created or changed since the last poll and starts one run per change.",
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Record", Kind: nodes.PortMain}},
		Credentials: []string{CredentialOAuth2, CredentialClient}, CredentialRequired: true,
		Params: []nodes.Field{
			{Name: "sObject", Label: "Object", Type: nodes.TypeString, Required: true, LoadOptions: true,
				Description: "The sObject's API name (Account, Opportunity, Invoice__c).",
				Examples:    []nodes.Example{{Name: "Opportunity", Value: "Opportunity"}}},
			{Name: "fields", Label: "Fields", Type: nodes.TypeString, Default: "Name",
				Description: "The fields each run gets, comma-separated (Name, StageName, Amount, Account.Name); Id and SystemModstamp are always read."},
			{Name: "where", Label: "Condition", Type: nodes.TypeString, Advanced: true,
				Description: "A SOQL condition added to every poll (StageName = 'Closed Won'); empty polls every record."},
			{Name: "interval", Label: "Interval", Type: nodes.TypeDuration, Default: "1m",
				Description: "How long to wait after a poll that reached the end of the changes (at least 10s)."},
			{Name: "overlap", Label: "Overlap", Type: nodes.TypeDuration, Default: "2m", Advanced: true,
				Description: "Each poll starts this long before the newest change seen, so a record whose transaction committed late " +
					"is not missed; a record seen twice unchanged starts one run."},
			{Name: "pageSize", Label: "Records per poll", Type: nodes.TypeInteger, Default: 200, Advanced: true,
				Description: fmt.Sprintf("How many records each query asks for (1 to %d).", maxPollPage)},
		},
		Docs: "Polls `GET " + APIPath + "/query?q=SELECT Id, SystemModstamp, … FROM {sObject} WHERE SystemModstamp >= {from} " +
			"ORDER BY SystemModstamp, Id LIMIT {n}` for records changed since a little before the newest change seen (the " +
			"overlap), and starts one run per changed record with `{sObject, id, systemModstamp, record}`. A walk through " +
			"many changes goes on by keyset (`SystemModstamp > t OR (SystemModstamp = t AND Id > id)`), not by query " +
			"locators, which expire and are limited per user. The cursor (the newest `SystemModstamp` and id, and the " +
			"position of a walk in progress) is committed with the runs, so a poll resumes where it stopped; a record's " +
			"Id and `SystemModstamp` are its run's dedup key. `SystemModstamp` changes whenever a user or the system " +
			"changes the record (LastModifiedDate only for users), and is indexed. `REQUEST_LIMIT_EXCEEDED` waits. A new " +
			"flow starts with the changes from its first poll; an admin can reset the cursor or backfill from a date.",
	}, newPoll)
	provider.RegisterOptions(PollType, "sObject", sObjectSource)
}

type pollNode struct {
	sObject, fields, where string
	nodes.PollSettings
}

func newPoll(cfg *nodes.Config) (nodes.Node, error) {
	n := &pollNode{sObject: strings.TrimSpace(cfg.String("sObject")), where: strings.TrimSpace(cfg.String("where")),
		PollSettings: nodes.ReadPollSettings(cfg, minPollInterval, maxPollPage, "records per poll")}
	if !apiName.MatchString(n.sObject) {
		cfg.Fail("sObject", nodes.CodeParamInvalid, fmt.Sprintf("%q is not an sObject's API name (Account, Invoice__c)", n.sObject))
	}
	fields := []string{"Id", "SystemModstamp"}
	seen := map[string]bool{"id": true, "systemmodstamp": true}
	for _, f := range strings.Split(cfg.String("fields"), ",") {
		f = strings.TrimSpace(f)
		if f == "" || seen[strings.ToLower(f)] {
			continue
		}
		if !fieldPath.MatchString(f) {
			cfg.Fail("fields", nodes.CodeParamInvalid, fmt.Sprintf("%q is not a field's API name", f))
			continue
		}
		seen[strings.ToLower(f)] = true
		fields = append(fields, f)
	}
	n.fields = strings.Join(fields, ", ")
	return n, cfg.Err()
}

// Execute passes the polled record on: the run's trigger payload.
func (n *pollNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	return nodes.Result{Output: x.Input}, nil
}

// Query is the SOQL a poll sends: records changed at or after from, or, continuing a walk, after the record
// (from, afterID) in SystemModstamp and Id order.
func (n *pollNode) Query(from time.Time, afterID string) string {
	cond := "SystemModstamp >= " + soqlTime(from)
	if afterID != "" {
		cond = fmt.Sprintf("(SystemModstamp > %[1]s OR (SystemModstamp = %[1]s AND Id > '%[2]s'))", soqlTime(from), afterID)
	}
	if n.where != "" {
		cond += " AND (" + n.where + ")"
	}
	return fmt.Sprintf("SELECT %s FROM %s WHERE %s ORDER BY SystemModstamp, Id LIMIT %d", n.fields, n.sObject, cond, n.PageSize)
}

// Poll fetches the records changed after the cursor, one page.
func (n *pollNode) Poll(ctx context.Context, req *nodes.PollRequest) (*nodes.PollPage, error) {
	cur := req.Cursor
	from, after := cur.From, cur.Token
	if from.IsZero() {
		from, after = cur.Time.Add(-n.Overlap), ""
	}
	if after != "" && !recordID.MatchString(after) {
		return nil, nodes.NewPermanent("salesforce_cursor_invalid", fmt.Errorf("salesforce: the cursor's record id %q is not an id", after))
	}
	x := &nodes.Exec{Mode: req.Mode, HTTP: req.HTTP, Breakers: req.Breakers, Credential: req.Credential,
		ReportUsage: req.ReportUsage, RenewCredential: req.RenewCredential}
	a, err := provider.Call(ctx, x, http.MethodGet, "/query", url.Values{"q": {n.Query(from, after)}}, nil)
	if err != nil {
		return nil, err
	}
	list, ok := a.Get("/records").([]any)
	if !ok {
		return nil, nodes.NewPermanent("salesforce_response_invalid", fmt.Errorf("salesforce: the query answer has no records"))
	}
	page := &nodes.PollPage{Records: make([]nodes.PolledRecord, 0, len(list))}
	newest, newestID := cur.Time, cur.ID
	var last time.Time
	lastID := ""
	for i, raw := range list {
		rec, _ := raw.(map[string]any)
		id, _ := rec["Id"].(string)
		stamp, _ := rec["SystemModstamp"].(string)
		t, err := parseModstamp(stamp)
		if rec == nil || !recordID.MatchString(id) || err != nil {
			return nil, nodes.NewPermanent("salesforce_response_invalid", fmt.Errorf("salesforce: changed record %d has no Id and SystemModstamp", i))
		}
		record := make(map[string]any, len(rec))
		for k, v := range rec {
			if k != "attributes" {
				record[k] = v
			}
		}
		page.Records = append(page.Records, nodes.PolledRecord{
			Payload:  map[string]any{"sObject": n.sObject, "id": id, "systemModstamp": stamp, "record": record},
			DedupKey: "salesforce:" + n.sObject + ":" + id + ":" + t.Format(time.RFC3339Nano), BusinessKey: id})
		if t.After(newest) || t.Equal(newest) && id > newestID {
			newest, newestID = t, id
		}
		last, lastID = t, id
	}
	page.Next = nodes.PollCursor{Time: newest, ID: newestID}
	if len(list) == n.PageSize {
		// A full page: more may wait at once. The walk goes on after the last record, by keyset.
		page.Next.From, page.Next.Token, page.More = last, lastID, true
	}
	return page, nil
}

var (
	_ nodes.Node           = (*pollNode)(nil)
	_ nodes.PollingTrigger = (*pollNode)(nil)
)
