package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ferry-hq/ferry/flows/engine"
	"github.com/ferry-hq/ferry/nodes"
	_ "github.com/ferry-hq/ferry/nodes/all"
)

// fixture is a flow-JSON test: a flow (or a bundled template), a trigger payload, and the steps and answer the
// run must produce.
type fixture struct {
	Description string          `json:"description"`
	Flow        json.RawMessage `json:"flow"`
	Template    string          `json:"template"`
	Trigger     string          `json:"trigger"`
	Payload     any             `json:"payload"`
	Mode        nodes.Mode      `json:"mode"`
	Expect      struct {
		Status string `json:"status"`
		Steps  []struct {
			Node   string `json:"node"`
			Status string `json:"status"`
			Port   string `json:"port"`
			Output any    `json:"output"`
		} `json:"steps"`
		Response *nodes.Response `json:"response"`
	} `json:"expect"`
}

// TestFixtures runs every testdata/*.json fixture through the engine with the real core nodes.
func TestFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var fx fixture
			if err := json.Unmarshal(raw, &fx); err != nil {
				t.Fatal(err)
			}
			doc := []byte(fx.Flow)
			if fx.Template != "" {
				if doc, err = os.ReadFile(filepath.Join("..", "templates", fx.Template)); err != nil {
					t.Fatal(err)
				}
			}
			c := compile(t, string(doc))
			trigger := c.Triggers[0].Def.ID
			if fx.Trigger != "" {
				trigger = fx.Trigger
			}
			mode := fx.Mode
			if mode == "" {
				mode = nodes.ModeLive
			}
			// Round-trip the payload through JSON the way a stored trigger would be.
			payload := normalise(t, fx.Payload)
			run := &engine.Run{ID: "fixture", FlowID: "f", Version: 1, Mode: mode, Attempt: 1, Trigger: payload,
				State: engine.NewState(c, trigger, payload)}
			out := (&engine.Engine{}).Execute(context.Background(), c, run)
			if out.Status != fx.Expect.Status {
				t.Fatalf("status %s, want %s (error %+v)", out.Status, fx.Expect.Status, out.Error)
			}
			if len(out.Steps) != len(fx.Expect.Steps) {
				t.Fatalf("%d steps %v, want %d", len(out.Steps), nodesOf(out.Steps), len(fx.Expect.Steps))
			}
			for i, want := range fx.Expect.Steps {
				got := out.Steps[i]
				if got.NodeID != want.Node {
					t.Errorf("step %d: node %s, want %s", i+1, got.NodeID, want.Node)
				}
				status := want.Status
				if status == "" {
					status = engine.StepSucceeded
				}
				if got.Status != status {
					t.Errorf("step %d (%s): status %s, want %s (%+v)", i+1, got.NodeID, got.Status, status, got.Error)
				}
				if want.Port != "" && got.Port != want.Port {
					t.Errorf("step %d (%s): port %s, want %s", i+1, got.NodeID, got.Port, want.Port)
				}
				if want.Output != nil {
					if g, w := normalise(t, got.Output), normalise(t, want.Output); !reflect.DeepEqual(g, w) {
						t.Errorf("step %d (%s): output\n got %v\nwant %v", i+1, got.NodeID, g, w)
					}
				}
			}
			if fx.Expect.Response != nil {
				if run.State.Response == nil {
					t.Fatal("no response")
				}
				if g, w := normalise(t, run.State.Response), normalise(t, fx.Expect.Response); !reflect.DeepEqual(g, w) {
					t.Errorf("response\n got %v\nwant %v", g, w)
				}
			}
		})
	}
}

func normalise(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
