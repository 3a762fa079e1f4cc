package store

import (
	"context"
	"encoding/json"
	"time"
)

// StoredSetting is a runtime setting an admin changed from its default: the value as JSON, who changed it last
// and when.
type StoredSetting struct {
	Key       string
	Value     json.RawMessage
	UpdatedBy string
	UpdatedAt time.Time
}

// SettingsStore keeps the settings an admin changes at runtime. Only settings that differ from their default
// have a row; resetting one deletes it. Every process reads the table periodically, so the database is how a
// change reaches the whole fleet.
type SettingsStore interface {
	// ListSettings returns every stored setting, ordered by key.
	ListSettings(ctx context.Context) ([]StoredSetting, error)
	// UpdateSettings stores set (key → JSON value) and deletes the rows of the keys in unset, in one transaction:
	// all or nothing. A key in both is an error.
	UpdateSettings(ctx context.Context, set map[string]json.RawMessage, unset []string, by string, at time.Time) error
}
