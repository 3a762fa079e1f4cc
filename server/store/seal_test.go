package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// gcmSealer is the vault's scheme in miniature: AES-256-GCM with the context as associated data.
type gcmSealer struct{ aead cipher.AEAD }

func newGCMSealer(t *testing.T) *gcmSealer {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, _ := aes.NewCipher(key)
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return &gcmSealer{aead}
}

func (g *gcmSealer) Seal(p []byte, ctx string) (string, []byte, error) {
	nonce := make([]byte, g.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return "k1", g.aead.Seal(nonce, nonce, p, []byte(ctx)), nil
}

func (g *gcmSealer) Open(id string, ct []byte, ctx string) ([]byte, error) {
	if id != "k1" {
		return nil, errors.New("unknown key")
	}
	n := g.aead.NonceSize()
	return g.aead.Open(nil, ct[:n], ct[n:], []byte(ctx))
}

// TestSealedRunData: with a sealer, run data is encrypted in the database and plain through the store; a
// sealed value moved to another run does not open; without the key nothing sealed can be read.
func TestSealedRunData(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(t.Context(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*gormStore)
	s.SetSealer(newGCMSealer(t))
	ctx := t.Context()
	f := newFlow(t, s, "sealed")
	r := queuedRun(t, f.ID)
	r.Trigger = json.RawMessage(`{"phone":"13812345678"}`)
	r.Status, r.LeaseOwner, r.LeaseUntil = RunRunning, "w", time.Now().Add(time.Minute)
	createRun(t, s, r, Step{Seq: 1, NodeID: "hook", Input: r.Trigger, Output: json.RawMessage(`{"email":"ada@example.com"}`)})
	mustOK(t, s.SaveProgress(ctx, Progress{RunID: r.ID, LeaseOwner: "w", Status: RunQueued, Attempt: 2,
		Checkpoint: json.RawMessage(`{"vars":{"card":"6222021234567890123"}}`), Error: json.RawMessage(`{"code":"x"}`),
		Steps: []Step{{Seq: 2, NodeID: "crm", Output: json.RawMessage(`{"ok":true}`)}}}), "save")

	var raw struct{ Trigger, Checkpoint, Error string }
	if err := s.r.Raw("SELECT trigger_payload AS trigger, checkpoint, error FROM runs WHERE id = ?", r.ID).Scan(&raw).Error; err != nil {
		t.Fatal(err)
	}
	var stepRaw []string
	s.r.Raw("SELECT COALESCE(input, '') || COALESCE(output, '') FROM steps WHERE run_id = ?", r.ID).Scan(&stepRaw)
	all := raw.Trigger + raw.Checkpoint + raw.Error + strings.Join(stepRaw, "")
	for _, clear := range []string{"13812345678", "ada@example.com", "6222021234567890123", `"code"`} {
		if strings.Contains(all, clear) {
			t.Fatalf("%s stored in clear: %s", clear, all)
		}
	}
	if !strings.HasPrefix(raw.Trigger, sealedPrefix) {
		t.Fatalf("trigger stored as %s", raw.Trigger)
	}

	got, err := s.GetRun(ctx, r.ID)
	mustOK(t, err, "get run")
	if string(got.Trigger) != `{"phone":"13812345678"}` || !strings.Contains(string(got.Checkpoint), "6222021234567890123") {
		t.Fatalf("run read back as %s / %s", got.Trigger, got.Checkpoint)
	}
	steps, err := s.ListSteps(ctx, r.ID)
	mustOK(t, err, "steps")
	if string(steps[0].Output) != `{"email":"ada@example.com"}` || string(steps[0].Input) != `{"phone":"13812345678"}` {
		t.Fatalf("steps read back as %+v", steps)
	}
	page, err := s.ListRuns(ctx, RunFilter{FlowID: f.ID})
	mustOK(t, err, "list")
	if string(page.Runs[0].Error) != `{"code":"x"}` {
		t.Fatalf("listed error %s", page.Runs[0].Error)
	}

	// A sealed trigger copied onto another run does not open there.
	other := createRun(t, s, queuedRun(t, f.ID))
	s.w.Exec("UPDATE runs SET trigger_payload = ? WHERE id = ?", raw.Trigger, other.ID)
	_, err = s.GetRun(ctx, other.ID)
	mustErr(t, err, ErrSealed, "moved sealed value")

	s.SetSealer(nil)
	_, err = s.GetRun(ctx, r.ID)
	mustErr(t, err, ErrSealed, "reading without the key")
}

// TestSealedTestSecret: a flow's test webhook secret is sealed at rest, bound to its flow, and plain through the
// store.
func TestSealedTestSecret(t *testing.T) {
	st, err := Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*gormStore)
	s.SetSealer(newGCMSealer(t))
	ctx := t.Context()
	f, other := newFlow(t, s, "sealed secret"), newFlow(t, s, "other")
	_, err = s.EnsureFlowTestSecret(ctx, &FlowTestSecret{FlowID: f.ID, Secret: "opens-the-test-webhook"})
	mustOK(t, err, "ensure")
	var raw string
	if err := s.r.Raw("SELECT secret FROM flow_test_secrets WHERE flow_id = ?", f.ID).Scan(&raw).Error; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "opens-the-test-webhook") || !strings.HasPrefix(raw, sealedPrefix) {
		t.Fatalf("secret stored as %s", raw)
	}
	got, err := s.FlowTestSecret(ctx, f.ID)
	mustOK(t, err, "read")
	if got.Secret != "opens-the-test-webhook" {
		t.Fatalf("read back %q", got.Secret)
	}
	_, err = s.EnsureFlowTestSecret(ctx, &FlowTestSecret{FlowID: other.ID, Secret: "x"})
	mustOK(t, err, "ensure other")
	s.w.Exec("UPDATE flow_test_secrets SET secret = ? WHERE flow_id = ?", raw, other.ID)
	_, err = s.FlowTestSecret(ctx, other.ID)
	mustErr(t, err, ErrSealed, "a sealed secret moved to another flow")
	mustOK(t, s.DeleteFlow(ctx, other.ID), "delete the other flow")

	// A key rotation re-seals the secret under the new key; the old key can then go.
	old := s.sealer
	next := newGCMSealer(t)
	s.SetSealer(&keyring{current: "new", keys: map[string]*gcmSealer{"k1": old.(*gcmSealer), "new": next}})
	n, err := s.ResealTestSecrets(ctx, "new")
	mustOK(t, err, "reseal")
	if n != 1 {
		t.Fatalf("re-sealed %d secrets, want 1", n)
	}
	s.SetSealer(&keyring{current: "new", keys: map[string]*gcmSealer{"new": next}})
	got, err = s.FlowTestSecret(ctx, f.ID)
	mustOK(t, err, "read with the new key alone")
	if got.Secret != "opens-the-test-webhook" {
		t.Fatalf("read back %q after the rotation", got.Secret)
	}
	if n, _ := s.ResealTestSecrets(ctx, "new"); n != 0 {
		t.Fatalf("a second pass re-sealed %d", n)
	}
}

// keyring is gcmSealer with several keys: it seals under current and opens under any.
type keyring struct {
	current string
	keys    map[string]*gcmSealer
}

func (k *keyring) Seal(p []byte, ctx string) (string, []byte, error) {
	_, ct, err := k.keys[k.current].Seal(p, ctx)
	return k.current, ct, err
}

func (k *keyring) Open(id string, ct []byte, ctx string) ([]byte, error) {
	s := k.keys[id]
	if s == nil {
		return nil, errors.New("unknown key")
	}
	return s.Open("k1", ct, ctx)
}

// TestResealRunData: after a key change, run data sealed under the old key is re-sealed under the new one in
// batches, and then reads with the new key alone.
func TestResealRunData(t *testing.T) {
	st, err := Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*gormStore)
	old, next := newGCMSealer(t), newGCMSealer(t)
	s.SetSealer(&keyring{current: "old", keys: map[string]*gcmSealer{"old": old}})
	f := newFlow(t, s, "reseal")
	var ids []string
	for i := range 7 {
		r := queuedRun(t, f.ID)
		r.Trigger = json.RawMessage(`{"n":` + string(rune('0'+i)) + `}`)
		createRun(t, s, r, Step{Seq: 1, NodeID: "hook", Output: r.Trigger})
		ids = append(ids, r.ID)
	}
	s.SetSealer(&keyring{current: "new", keys: map[string]*gcmSealer{"old": old, "new": next}})
	after, total := "", 0
	for {
		last, n, err := s.ResealRunData(t.Context(), "new", after, 3)
		mustOK(t, err, "reseal")
		total += n
		if last == "" {
			break
		}
		after = last
	}
	if total != 14 { // a trigger and a step output per run
		t.Fatalf("re-sealed %d values, want 14", total)
	}
	s.SetSealer(&keyring{current: "new", keys: map[string]*gcmSealer{"new": next}})
	for i, id := range ids {
		r, err := s.GetRun(t.Context(), id)
		mustOK(t, err, "read with the new key alone")
		steps, err := s.ListSteps(t.Context(), id)
		mustOK(t, err, "steps with the new key alone")
		if string(r.Trigger) != `{"n":`+string(rune('0'+i))+`}` || string(steps[0].Output) != string(r.Trigger) {
			t.Fatalf("run %d read back as %s / %s", i, r.Trigger, steps[0].Output)
		}
	}
	if _, n, _ := s.ResealRunData(t.Context(), "new", "", 100); n != 0 {
		t.Fatalf("a second pass re-sealed %d values", n)
	}
}
