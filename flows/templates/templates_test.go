package templates_test

import (
	"encoding/json"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"unicode"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/flows/templates"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/all"
)

// TestEveryTemplateImports loads every bundled template and checks its document the way the import endpoint
// does (parse, then validate against the real node registry), so a template can never ship broken.
func TestEveryTemplateImports(t *testing.T) {
	all, err := templates.All()
	if err != nil {
		t.Fatal(err)
	}
	docs, _ := fs.Glob(templates.FS(), "*.json")
	if len(all) != len(docs) || len(all) < 6 {
		t.Fatalf("%d templates loaded from %d documents; at least 6 are bundled", len(all), len(docs))
	}
	seen := map[string]bool{}
	for _, tpl := range all {
		t.Run(tpl.ID, func(t *testing.T) {
			if seen[tpl.ID] {
				t.Fatal("duplicate id")
			}
			seen[tpl.ID] = true
			raw, err := fs.ReadFile(templates.FS(), tpl.ID+".json")
			if err != nil {
				t.Fatal(err)
			}
			f, err := flows.Parse(raw)
			if err != nil {
				t.Fatalf("parse: %v", flows.Problems(err))
			}
			if problems := flows.Validate(f); problems != nil {
				t.Fatalf("validate: %+v", problems)
			}
			if tpl.Name.En != f.Name || tpl.Description.En != f.Description {
				t.Error("the English name and description must be the document's")
			}
			if !hasHan(tpl.Name.Zh) || !hasHan(tpl.Description.Zh) {
				t.Errorf("the Chinese name or description is not Chinese: %q", tpl.Name.Zh)
			}
			if !slices.Contains(templates.Categories, tpl.Category) || len(tpl.Tags) == 0 {
				t.Errorf("category %q, tags %v", tpl.Category, tpl.Tags)
			}
			if tpl.NodeCount != len(f.Nodes) || len(tpl.Steps) != len(f.Nodes) || len(tpl.NodeTypes) == 0 {
				t.Errorf("node count %d, steps %d, types %v for %d nodes", tpl.NodeCount, len(tpl.Steps), tpl.NodeTypes, len(f.Nodes))
			}
			if tpl.Steps[0].ID != f.Nodes[0].ID {
				t.Errorf("the chain starts at %s, not at the trigger", tpl.Steps[0].ID)
			}
			zh := tpl.In(nodes.LangChinese)
			zhDoc, err := flows.Parse(zh.Document)
			if err != nil {
				t.Fatal(err)
			}
			if problems := flows.Validate(zhDoc); problems != nil {
				t.Fatalf("the Chinese document does not validate: %+v", problems)
			}
			for i, s := range tpl.Steps {
				if s.Name != f.Node(s.ID).Name {
					t.Errorf("step %s: English name %q, the document's is %q", s.ID, s.Name, f.Node(s.ID).Name)
				}
				if zs := zh.Steps[i]; zs.ID != s.ID || !hasHan(zs.Name) || zs.Name != zhDoc.Node(s.ID).Name {
					t.Errorf("step %s: Chinese step %+v, document name %q", s.ID, zs, zhDoc.Node(s.ID).Name)
				}
			}
			for i, c := range zh.Credentials {
				if c.NodeName != zhDoc.Node(c.NodeID).Name || tpl.Credentials[i].NodeName != f.Node(c.NodeID).Name {
					t.Errorf("credential need of %s is named %q / %q", c.NodeID, tpl.Credentials[i].NodeName, c.NodeName)
				}
			}
			if tpl.In(nodes.LangEnglish) != tpl || tpl.In("fr") != tpl {
				t.Error("a caller not speaking Chinese does not get the template as is")
			}
			for _, n := range f.Nodes {
				if n.Credential != "" && !slices.ContainsFunc(tpl.Credentials, func(c templates.CredentialNeed) bool { return c.NodeID == n.ID }) {
					t.Errorf("node %s names a credential, but the template does not ask for one", n.ID)
				}
			}
		})
	}
}

// TestPlaceholdersAreDeclared: any example URL or token left in a template is listed as a placeholder the user
// must fill, so the gallery can say so.
func TestPlaceholdersAreDeclared(t *testing.T) {
	all, err := templates.All()
	if err != nil {
		t.Fatal(err)
	}
	markers := []string{"example.com", "YOUR_", "/T000/"}
	for _, tpl := range all {
		f, err := flows.Parse(tpl.Document)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range f.Nodes {
			for param, raw := range n.Params {
				text := string(raw)
				if !slices.ContainsFunc(markers, func(m string) bool { return strings.Contains(text, m) }) {
					continue
				}
				if !slices.ContainsFunc(tpl.Placeholders, func(p templates.Placeholder) bool { return p.NodeID == n.ID && p.Param == param }) {
					t.Errorf("%s: %s.%s holds an example value but is not declared a placeholder", tpl.ID, n.ID, param)
				}
			}
		}
	}
}

// TestInstantiate creates a flow from every template with credentials of an accepted type and checks the result
// validates and names them; then each refusal with its code.
func TestInstantiate(t *testing.T) {
	all, err := templates.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, tpl := range all {
		chosen := map[string]templates.Credential{}
		for _, need := range tpl.Credentials {
			chosen[need.NodeID] = templates.Credential{ID: "cred-" + need.NodeID, Type: need.Types[len(need.Types)-1]}
		}
		f, errs := tpl.Instantiate("  My copy  ", chosen)
		if errs != nil {
			t.Fatalf("%s: %v", tpl.ID, errs[0])
		}
		if f.Name != "My copy" {
			t.Errorf("%s: name %q", tpl.ID, f.Name)
		}
		if problems := flows.Validate(f); problems != nil {
			t.Fatalf("%s: the created flow does not validate: %+v", tpl.ID, problems)
		}
		for _, need := range tpl.Credentials {
			if got := f.Node(need.NodeID).Credential; got != "cred-"+need.NodeID {
				t.Errorf("%s: node %s has credential %q", tpl.ID, need.NodeID, got)
			}
		}
	}

	tpl, ok, err := templates.Get("alipay-hubspot-deal-won")
	if err != nil || !ok {
		t.Fatalf("get: %v %v", ok, err)
	}
	if _, ok, _ := templates.Get("no-such-template"); ok {
		t.Error("an unknown id was found")
	}
	codes := func(errs []*templates.Error) string {
		var out []string
		for _, e := range errs {
			out = append(out, e.Code+"@"+e.NodeID)
		}
		return strings.Join(out, ",")
	}
	good := map[string]templates.Credential{"alipay": {"a", "alipay.app"}, "deal": {"h", "hubspot.private-app"}, "won": {"h", "hubspot.oauth2"}}

	_, errs := tpl.Instantiate("x", map[string]templates.Credential{"alipay": {"a", "alipay.app"}, "won": {"h", "hubspot.private-app"}})
	if got := codes(errs); got != "credential_missing@deal" {
		t.Errorf("missing required credential: %s", got)
	}
	bad := map[string]templates.Credential{"alipay": {"a", "alipay.app"}, "deal": {"h", "http.bearer"}, "won": {"h", "hubspot.private-app"}}
	if got := codes(second(tpl.Instantiate("x", bad))); got != "credential_type_mismatch@deal" {
		t.Errorf("wrong type: %s", got)
	}
	unknown := map[string]templates.Credential{"review": {"r", "http.bearer"}}
	for k, v := range good {
		unknown[k] = v
	}
	if got := codes(second(tpl.Instantiate("x", unknown))); got != "credential_node_unknown@review" {
		t.Errorf("a node that takes none here: %s", got)
	}
	if got := codes(second(tpl.Instantiate(" ", good))); got != "template_name_required@" {
		t.Errorf("blank name: %s", got)
	}

	// An optional credential left out drops the template's placeholder instead of keeping a dangling id.
	wc, _, _ := templates.Get("stripe-payment-received")
	f, errs := wc.Instantiate("x", map[string]templates.Credential{"stripe": {"s", "stripe.account"}})
	if errs != nil {
		t.Fatal(errs[0])
	}
	if f.Node("crm").Credential != "" || f.Node("stripe").Credential != "s" {
		t.Errorf("crm %q, stripe %q", f.Node("crm").Credential, f.Node("stripe").Credential)
	}
	// In Chinese the created flow's nodes carry the Chinese names, everything else as in English.
	zf, errs := wc.In(nodes.LangChinese).Instantiate("Stripe 收款", map[string]templates.Credential{"stripe": {"s", "stripe.account"}})
	if errs != nil {
		t.Fatal(errs[0])
	}
	if zf.Node("stripe").Name != "Stripe 支付" || zf.Node("crm").Name != "创建或更新 CRM 订单" || zf.Node("stripe").Credential != "s" ||
		len(zf.Nodes) != len(f.Nodes) || len(zf.Edges) != len(f.Edges) {
		t.Errorf("Chinese flow: %+v", zf.Nodes)
	}
	// The template itself is not changed by instantiating it.
	orig, _ := flows.Parse(wc.Document)
	if orig.Node("crm").Credential != "crm-api" {
		t.Error("instantiating changed the template")
	}
}

func second[A, B any](_ A, b B) B { return b }

// TestLoadRefusesBrokenTemplates: a template with an unknown node, without metadata, or whose metadata does not
// fit its document fails to load with a message naming it.
func TestLoadRefusesBrokenTemplates(t *testing.T) {
	doc := `{"schema":1,"name":"N","description":"D","nodes":[{"id":"in","type":"core.manual"},{"id":"call","type":"core.http","params":{"url":"https://x.test/","method":"GET"}}],"edges":[{"source":"in","target":"call"}]}`
	meta := `{"category":"orders","tags":["t"],"zh":{"name":"名称","description":"说明","nodes":{"in":"手动触发","call":"调用接口"}}}`
	good := fstest.MapFS{"ok.json": {Data: []byte(doc)}, "meta/ok.json": {Data: []byte(meta)}}
	list, err := templates.Load(good)
	if err != nil || len(list) != 1 {
		t.Fatalf("a good template: %v", err)
	}
	if zh := list[0].In(nodes.LangChinese); zh.Steps[0].Name != "手动触发" || zh.Steps[1].Name != "调用接口" || zh.Credentials[0].NodeName != "调用接口" {
		t.Errorf("Chinese steps %+v, needs %+v", zh.Steps, zh.Credentials)
	}
	if en := list[0].In(nodes.LangEnglish); en.Steps[1].Name != "" {
		t.Errorf("the English steps take the document's (empty) names: %+v", en.Steps)
	}
	if c := list[0].Credentials; len(c) != 1 || c[0].NodeID != "call" || c[0].Required || len(c[0].Types) != 5 {
		t.Errorf("credential needs derived from the http node's spec: %+v", c)
	}
	cases := map[string]struct {
		fs   fstest.MapFS
		want string
	}{
		"unknown node": {fstest.MapFS{"x.json": {Data: []byte(strings.Replace(doc, "core.http", "core.nope", 1))}, "meta/x.json": {Data: []byte(meta)}}, "node_type_unknown"},
		"no metadata":  {fstest.MapFS{"x.json": {Data: []byte(doc)}}, "metadata"},
		"orphan meta":  {fstest.MapFS{"ok.json": {Data: []byte(doc)}, "meta/ok.json": {Data: []byte(meta)}, "meta/y.json": {Data: []byte(meta)}}, "has no flow document"},
		"bad category": {fstest.MapFS{"x.json": {Data: []byte(doc)}, "meta/x.json": {Data: []byte(strings.Replace(meta, "orders", "misc", 1))}}, "category"},
		"no chinese":   {fstest.MapFS{"x.json": {Data: []byte(doc)}, "meta/x.json": {Data: []byte(strings.Replace(meta, "名称", "", 1))}}, "Chinese"},
		"bad placeholder": {fstest.MapFS{"x.json": {Data: []byte(doc)}, "meta/x.json": {Data: []byte(strings.Replace(meta, `"tags"`,
			`"placeholders":[{"node":"call","param":"body","en":"e","zh":"z"}],"tags"`, 1))}}, "does not set"},
		"type not accepted": {fstest.MapFS{"x.json": {Data: []byte(doc)}, "meta/x.json": {Data: []byte(strings.Replace(meta, `"tags"`,
			`"credentials":{"call":{"types":["stripe.account"]}},"tags"`, 1))}}, "does not accept"},
		"chinese name of an unknown node": {fstest.MapFS{"x.json": {Data: []byte(doc)}, "meta/x.json": {Data: []byte(strings.Replace(meta, `"call":`,
			`"nope":"无","call":`, 1))}}, `zh.nodes names node "nope"`},
		"node without a chinese name": {fstest.MapFS{"x.json": {Data: []byte(doc)}, "meta/x.json": {Data: []byte(strings.Replace(meta, `,"call":"调用接口"`, "", 1))}}, "lacks the Chinese name of node call"},
		"blank chinese node name":     {fstest.MapFS{"x.json": {Data: []byte(doc)}, "meta/x.json": {Data: []byte(strings.Replace(meta, "手动触发", " ", 1))}}, "lacks the Chinese name of node in"},
		"bad id":                      {fstest.MapFS{"Bad_Id.json": {Data: []byte(doc)}, "meta/Bad_Id.json": {Data: []byte(meta)}}, "lowercase"},
	}
	for name, c := range cases {
		if _, err := templates.Load(c.fs); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", name, err, c.want)
		}
	}
}

// TestReconciliationComparison evaluates the reconciliation template's comparison on a sample day: one payment
// the CRM lacks, one order Stripe lacks, one amount that differs, one that matches.
func TestReconciliationComparison(t *testing.T) {
	tpl, _, _ := templates.Get("stripe-daily-reconciliation")
	f, err := flows.Parse(tpl.Document)
	if err != nil {
		t.Fatal(err)
	}
	var stripeList, crmList any
	json.Unmarshal([]byte(`{"has_more": false, "data": [
		{"id": "pi_1", "status": "succeeded", "amount_received": 8800, "currency": "cny", "metadata": {"order_id": "A1"}},
		{"id": "pi_2", "status": "succeeded", "amount_received": 1000, "currency": "cny", "metadata": {"order_id": "A2"}},
		{"id": "pi_3", "status": "succeeded", "amount_received": 500, "currency": "cny", "metadata": {"order_id": "A3"}},
		{"id": "pi_4", "status": "requires_payment_method", "amount_received": 0, "currency": "cny", "metadata": {}}]}`), &stripeList)
	json.Unmarshal([]byte(`{"orders": [{"order_id": "A1", "amount_minor": 8800, "currency": "CNY"},
		{"order_id": "A2", "amount_minor": 1200, "currency": "CNY"}, {"order_id": "B9", "amount_minor": 300, "currency": "CNY"}]}`), &crmList)
	env := map[string]any{"trigger": map[string]any{"scheduledAt": "2026-11-22T09:00:00+08:00"}, "prev": nil,
		"nodes": map[string]any{"stripe": map[string]any{"body": stripeList}, "crm": map[string]any{"body": crmList}},
		"vars":  map[string]any{}}
	eval := func(src string) any {
		t.Helper()
		p, err := expression.Compile(src, expression.ResultAny)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		v, err := p.Eval(env)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		return v
	}
	vars := env["vars"].(map[string]any)
	for _, id := range []string{"window", "sets"} {
		var rows []struct{ Name, Expression string }
		json.Unmarshal(f.Node(id).Params["vars"], &rows)
		for _, r := range rows {
			vars[r.Name] = eval(r.Expression)
		}
	}
	if vars["day"] != "2026-11-21" || vars["from"] != int64(1795190400) || vars["until"] != int64(1795276800) {
		t.Errorf("window: %v %v %v", vars["day"], vars["from"], vars["until"])
	}
	var fields []struct{ Target, Expression string }
	json.Unmarshal(f.Node("compare").Params["fields"], &fields)
	out := map[string]any{}
	for _, fl := range fields {
		out[fl.Target] = eval(fl.Expression)
	}
	got, _ := json.Marshal(map[string]any{"crm": out["missing_in_crm"], "stripe": out["missing_in_stripe"], "amount": out["amount_mismatch"]})
	want := `{"amount":[{"crm_minor":1200,"currency":"CNY","found":true,"order_id":"A2","stripe_minor":1000}],` +
		`"crm":[{"amount":"5.00","currency":"CNY","order_id":"A3","payment":"pi_3"}],"stripe":["B9"]}`
	if string(got) != want {
		t.Errorf("comparison\n got %s\nwant %s", got, want)
	}
	env["prev"] = out
	var cond string
	json.Unmarshal(f.Node("differs").Params["condition"], &cond)
	if eval(cond) != true {
		t.Error("differences are not reported")
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// TestRefundApprovalThreshold evaluates the refund approval template's threshold in minor units (a decimal amount
// just over 500 needs approval, 500.00 does not, whatever the currency's digits) and the message customer service
// gets for a rejection and for a timeout.
func TestRefundApprovalThreshold(t *testing.T) {
	tpl, _, _ := templates.Get("refund-approval-stripe")
	f, err := flows.Parse(tpl.Document)
	if err != nil {
		t.Fatal(err)
	}
	var cond string
	json.Unmarshal(f.Node("large").Params["condition"], &cond)
	p, err := expression.Compile(cond, expression.ResultBool)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		amount, currency string
		want             bool
	}{
		{"500.01", "cny", true}, {"500.00", "cny", false}, {"500", "CNY", false}, {"12.5", "usd", false},
		{"501", "jpy", true}, {"500", "jpy", false}, {"1200.00", "eur", true},
	} {
		env := map[string]any{"trigger": map[string]any{"body": map[string]any{"amount": tc.amount, "currency": tc.currency}}}
		got, err := p.Eval(env)
		if err != nil || got != tc.want {
			t.Errorf("%s %s: %v %v, want %v", tc.amount, tc.currency, got, err, tc.want)
		}
	}
	var text string
	json.Unmarshal(f.Node("declined").Params["text"], &text)
	msg, err := expression.CompileTemplate(text)
	if err != nil {
		t.Fatal(err)
	}
	trigger := map[string]any{"body": map[string]any{"order_id": "A-1", "amount": "900.00", "currency": "cny"}}
	for _, tc := range []struct {
		approval map[string]any
		want     string
	}{
		{map[string]any{"decision": "rejected", "by": "fin@shop.cn", "comment": "超出政策"}, "由 fin@shop.cn 驳回"},
		{map[string]any{"decision": "timeout", "by": "", "comment": ""}, "期限内无人审批"},
	} {
		s, err := msg.EvalString(map[string]any{"trigger": trigger, "prev": map[string]any{"approval": tc.approval}})
		if err != nil || !strings.Contains(s, tc.want) || !strings.Contains(s, "900.00 CNY") {
			t.Errorf("declined message %q %v, want %q", s, err, tc.want)
		}
	}
}
