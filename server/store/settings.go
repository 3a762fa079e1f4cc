package store

// SettingsStore keeps the settings an admin changes at runtime.
type SettingsStore interface {
}
