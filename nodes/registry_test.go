package nodes

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

type nop struct{}

func (nop) Execute(context.Context, *Exec) (Result, error) { return Result{}, nil }

func ctor(cfg *Config) (Node, error) { return nop{}, cfg.Err() }

var mainPort = []Port{{ID: "main", Kind: PortMain}}

func TestRegisterRefusesMistakes(t *testing.T) {
	for name, spec := range map[string]Spec{
		"uppercase id":       {Type: "Test.Bad", Version: 1, Inputs: mainPort},
		"no namespace":       {Type: "bad", Version: 1, Inputs: mainPort},
		"version zero":       {Type: "regtest.zero", Version: 0, Inputs: mainPort},
		"trigger with input": {Type: "regtest.trig", Version: 1, Trigger: true, Inputs: mainPort},
		"step without input": {Type: "regtest.noinput", Version: 1},
		"reserved port":      {Type: "regtest.port", Version: 1, Inputs: mainPort, Outputs: []Port{{ID: ErrorPort}}},
		"select without options": {Type: "regtest.sel", Version: 1, Inputs: mainPort,
			Params: []Field{{Name: "x", Type: TypeSelect}}},
	} {
		if err := Register(spec, ctor); err == nil {
			t.Errorf("%s: registered", name)
		}
	}
	ok := Spec{Type: "regtest.ok", Version: 1, Inputs: mainPort, Outputs: mainPort}
	if err := Register(ok, ctor); err != nil {
		t.Fatal(err)
	}
	if err := Register(ok, ctor); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("duplicate: %v", err)
	}
	ok.Version = 2
	if err := Register(ok, ctor); err != nil {
		t.Fatal(err)
	}
	if r, found := Lookup("regtest.ok", 0); !found || r.Spec.Version != 2 {
		t.Errorf("latest version: %+v", r)
	}
	if _, found := Lookup("regtest.ok", 3); found {
		t.Error("found a version never registered")
	}
	var walked []string
	Walk(func(r *Registration) {
		if strings.HasPrefix(r.Spec.Type, "regtest.") {
			walked = append(walked, r.Spec.Type)
		}
	})
	if strings.Join(walked, ",") != "regtest.ok,regtest.ok" {
		t.Errorf("walk: %v", walked)
	}
}

func params(t *testing.T, s string) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

var configSpec = Spec{Type: "regtest.config", Version: 1, Name: "Config", Params: []Field{
	{Name: "mode", Label: "Mode", Type: TypeSelect, Default: "a", Options: []Option{{Value: "a"}, {Value: "b"}}},
	{Name: "onlyB", Label: "Only B", Type: TypeString, Required: true, ShowIf: map[string][]any{"mode": {"b"}}},
	{Name: "count", Label: "Count", Type: TypeInteger, Default: 3},
	{Name: "wait", Label: "Wait", Type: TypeDuration},
	{Name: "cond", Label: "Condition", Type: TypeExpr, ExprResult: "bool"},
	{Name: "greeting", Label: "Greeting", Type: TypeString, Expression: true},
	{Name: "headers", Label: "Headers", Type: TypeKeyValue},
	{Name: "rows", Label: "Rows", Type: TypeList, Fields: []Field{
		{Name: "name", Label: "Name", Type: TypeString, Required: true},
		{Name: "value", Label: "Value", Type: TypeExpr}}},
}}

func problemFields(c *Config) map[string]string {
	out := map[string]string{}
	for _, p := range c.Problems() {
		out[p.Field] = p.Code
	}
	return out
}

func TestConfigAppliesDefaultsAndShowIf(t *testing.T) {
	c := NewConfig(&configSpec, "n", params(t, `{}`), "")
	if c.String("mode") != "a" || c.Int("count") != 3 || c.Duration("wait") != 0 {
		t.Errorf("defaults: %s %d", c.String("mode"), c.Int("count"))
	}
	if len(c.Problems()) != 0 {
		t.Errorf("a hidden required field was reported: %v", c.Problems())
	}
	c = NewConfig(&configSpec, "n", params(t, `{"mode":"b"}`), "")
	if problemFields(c)["onlyB"] != CodeParamRequired {
		t.Errorf("visible required field not reported: %v", c.Problems())
	}
}

func TestConfigReportsEveryProblemWithItsPath(t *testing.T) {
	c := NewConfig(&configSpec, "n", params(t, `{"mode":"c","count":"x","wait":"soon","cond":"1 +","greeting":"hi {{ trigger.","headers":{"a":1},
	  "rows":[{"name":"ok","value":"prev.x"},{"value":"(("}],"extra":true}`), "")
	c.Duration("wait")
	c.Expr("cond", "bool")
	c.Template("greeting")
	for _, row := range c.List("rows") {
		row.Expr("value", "any")
	}
	got := problemFields(c)
	want := map[string]string{"mode": CodeParamInvalid, "count": CodeParamInvalid, "wait": CodeParamInvalid,
		"cond": "expression_invalid", "greeting": "expression_invalid", "headers": CodeParamInvalid,
		"rows[1].name": CodeParamRequired, "rows[1].value": "expression_invalid", "extra": CodeParamUnknown}
	for field, code := range want {
		if got[field] != code {
			t.Errorf("%s: got %q, want %q (all: %v)", field, got[field], code, got)
		}
	}
	if _, ok := got["rows[0].value"]; ok {
		t.Error("a valid row was reported")
	}
	err := c.Err()
	if ce, ok := err.(*ConfigError); !ok || len(ce.Problems) != len(c.Problems()) {
		t.Fatalf("Err: %v", err)
	}
}

func TestConfigCodeFields(t *testing.T) {
	spec := Spec{Type: "test.code", Version: 1, Params: []Field{
		{Name: "code", Label: "Code", Type: TypeCode, Language: "javascript", Required: true},
		{Name: "more", Label: "More", Type: TypeCode},
	}}
	c := NewConfig(&spec, "n", params(t, `{"code":"  ","more":42}`), "")
	if got := problemFields(c); got["code"] != CodeParamRequired || got["more"] != CodeParamInvalid {
		t.Fatalf("problems = %v", got)
	}
	c = NewConfig(&spec, "n", params(t, `{"code":"return 1;"}`), "")
	c.FailAt("code", "code_syntax", "SyntaxError: unexpected token", 3, 7)
	if p := c.Problems(); len(p) != 1 || p[0].Line != 3 || p[0].Column != 7 || p[0].Field != "code" || p[0].NodeID != "n" {
		t.Fatalf("problems = %+v", p)
	}
}

func TestDynamicPorts(t *testing.T) {
	s := Spec{Outputs: nil, Dynamic: &DynamicPorts{Param: "cases", PortField: "port", LabelField: "label", Fixed: []Port{{ID: "default"}}}}
	ports := s.OutputPorts(params(t, `{"cases":[{"port":"paid","label":"Paid"},{"port":"refunded"}]}`))
	var ids, labels []string
	for _, p := range ports {
		ids, labels = append(ids, p.ID), append(labels, p.Label)
	}
	if strings.Join(ids, ",") != "paid,refunded,default,error" || labels[0] != "Paid" || labels[1] != "refunded" {
		t.Errorf("ports %v labels %v", ids, labels)
	}
	if !s.HasOutput(params(t, `{"cases":[{"port":"paid"}]}`), "paid") || s.HasOutput(nil, "paid") {
		t.Error("HasOutput")
	}
}

func TestClassify(t *testing.T) {
	if Classify(context.DeadlineExceeded).Kind != Retryable {
		t.Error("timeouts are retryable")
	}
	if Classify(NewPermanent("bad", context.Canceled)).Kind != Permanent {
		t.Error("permanent lost its kind")
	}
	e := Classify(WithDetails(NewRetryAfter("slow", context.Canceled, 5), map[string]any{"status": 429}))
	if e.Kind != RetryAfter || e.After != 5 || e.Details == nil {
		t.Errorf("details: %+v", e)
	}
}
