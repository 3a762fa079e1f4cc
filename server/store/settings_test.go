package store

import (
	"encoding/json"
	"testing"
	"time"
)

// TestSettingsStore runs the settings repository tests on SQLite and Postgres.
func TestSettingsStore(t *testing.T) {
	eachBackend(t, testSettings)
}

func testSettings(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	ctx := t.Context()
	list, err := s.ListSettings(ctx)
	mustOK(t, err, "list empty")
	if len(list) != 0 {
		t.Fatalf("fresh store has settings: %+v", list)
	}

	at := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	mustOK(t, s.UpdateSettings(ctx, map[string]json.RawMessage{
		"retention-days":  json.RawMessage(`14`),
		"personal-fields": json.RawMessage(`["phone","buyer_nick"]`),
	}, nil, "user-1", at), "first update")
	list, err = s.ListSettings(ctx)
	mustOK(t, err, "list")
	if len(list) != 2 || list[0].Key != "personal-fields" || list[1].Key != "retention-days" {
		t.Fatalf("settings not listed by key: %+v", list)
	}
	var fields []string
	if err := json.Unmarshal(list[0].Value, &fields); err != nil || len(fields) != 2 || fields[1] != "buyer_nick" {
		t.Fatalf("list value did not round-trip: %s (%v)", list[0].Value, err)
	}
	if list[1].UpdatedBy != "user-1" {
		t.Fatalf("updated by = %q", list[1].UpdatedBy)
	}
	sameTime(t, "updated at", list[1].UpdatedAt, at)

	// Overwrite one, reset the other, in one call; a later writer is recorded.
	later := at.Add(time.Hour)
	mustOK(t, s.UpdateSettings(ctx, map[string]json.RawMessage{"retention-days": json.RawMessage(`7`)},
		[]string{"personal-fields", "never-stored"}, "user-2", later), "second update")
	list, err = s.ListSettings(ctx)
	mustOK(t, err, "list")
	if len(list) != 1 || list[0].Key != "retention-days" || string(list[0].Value) != "7" || list[0].UpdatedBy != "user-2" {
		t.Fatalf("after overwrite and reset: %+v", list)
	}
	sameTime(t, "updated at", list[0].UpdatedAt, later)

	// Bad calls change nothing: a value that is not JSON, a key both set and unset.
	if err := s.UpdateSettings(ctx, map[string]json.RawMessage{"retention-runs": json.RawMessage(`5`),
		"retention-days": json.RawMessage(`{nope`)}, nil, "user-3", later); err == nil {
		t.Fatal("a value that is not JSON was stored")
	}
	if err := s.UpdateSettings(ctx, map[string]json.RawMessage{"retention-runs": json.RawMessage(`5`)},
		[]string{"retention-runs"}, "user-3", later); err == nil {
		t.Fatal("a key both set and unset was accepted")
	}
	list, err = s.ListSettings(ctx)
	mustOK(t, err, "list")
	if len(list) != 1 || string(list[0].Value) != "7" {
		t.Fatalf("a refused update changed settings: %+v", list)
	}

	// Another store on the same database (another process of the fleet) sees the change.
	other := open(t)
	list, err = other.ListSettings(ctx)
	mustOK(t, err, "list from another store")
	if len(list) != 1 || string(list[0].Value) != "7" {
		t.Fatalf("another store sees %+v", list)
	}
}
