package store

// FlowActivityStore answers the flows list's questions about each flow's recent runs.
type FlowActivityStore interface {
}
