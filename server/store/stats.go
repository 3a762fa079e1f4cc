package store

// StatsStore answers the dashboard's questions about runs: how many, how they ended, where they failed.
type StatsStore interface {
}
