package nodes

import (
	"fmt"
	"sort"
	"sync"
)

// CredentialType is a kind of credential a node can use (an API key, a bearer token, a webhook secret): its
// fields, which of them are secret, and how it is used. Registered like nodes, it drives the credential form and
// validates what the API stores.
type CredentialType struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Fields      []Field `json:"fields"`
	// RateLimit is the provider's documented quota for one account (Shopify's REST bucket, HubSpot's per-app
	// limit), applied to every credential of this type that does not set its own, so flows stay under it
	// without each user looking it up.
	RateLimit *Limit `json:"rateLimit,omitempty"`
}

// Field returns the field named name, or nil.
func (t *CredentialType) Field(name string) *Field {
	for i := range t.Fields {
		if t.Fields[i].Name == name {
			return &t.Fields[i]
		}
	}
	return nil
}

var (
	credMu    sync.RWMutex
	credTypes = map[string]*CredentialType{}
)

// MustRegisterCredentialType adds a credential type from an init function; a duplicate id panics at start-up.
func MustRegisterCredentialType(t CredentialType) {
	credMu.Lock()
	defer credMu.Unlock()
	if !typePattern.MatchString(t.ID) {
		panic(fmt.Sprintf("nodes: credential type %q must be a lowercase dotted id", t.ID))
	}
	if _, dup := credTypes[t.ID]; dup {
		panic(fmt.Sprintf("nodes: credential type %s registered twice", t.ID))
	}
	credTypes[t.ID] = &t
}

// LookupCredentialType returns a registered credential type.
func LookupCredentialType(id string) (*CredentialType, bool) {
	credMu.RLock()
	defer credMu.RUnlock()
	t, ok := credTypes[id]
	return t, ok
}

// CredentialTypes lists every registered credential type by id.
func CredentialTypes() []CredentialType {
	credMu.RLock()
	defer credMu.RUnlock()
	out := make([]CredentialType, 0, len(credTypes))
	for _, t := range credTypes {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
