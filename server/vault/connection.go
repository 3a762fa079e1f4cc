package vault

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

// TestResult is the outcome of a connection test. Message says what was checked or why it failed, and never
// holds a secret value.
type TestResult struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

// connectionTestTimeout bounds one connection test.
const connectionTestTimeout = 30 * time.Second

// Test checks a variant of a credential against its provider with the type's test (nodes.CredentialType.Test),
// so an admin learns of a wrong key when saving it rather than from a failed run. For an OAuth2 credential a
// current access token is obtained first (renewing it if due), which is itself a check of the client. A
// credential that does not work is an answer (OK false), not an error; errors are for a credential that does
// not exist, has no such variant, or whose type has no test.
func (c *Credentials) Test(ctx context.Context, id, variant string) (*TestResult, error) {
	row, err := c.Store.GetCredential(ctx, id)
	if err != nil {
		return nil, err
	}
	ct, ok := nodes.LookupCredentialType(row.Type)
	if !ok || ct.Test == nil {
		return nil, fmt.Errorf("%w: %s credentials have no connection test", ErrNotSupported, row.Type)
	}
	s, err := c.open(row)
	if err != nil {
		return &TestResult{Message: describeUnreadable(row, err)}, nil
	}
	stored := s.fields(variant)
	if stored == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoVariant, variant)
	}
	fields := make(map[string]string, len(stored)+3)
	for k, v := range stored {
		fields[k] = v
	}
	secrets := secretValues(ct, stored)
	if ct.OAuth2 != nil {
		tok, err := c.token(ctx, row, s, ct, variant)
		if err != nil {
			return &TestResult{Message: redact(nodes.Classify(err).Err.Error(), secrets)}, nil
		}
		for k, v := range tokenFields(tok) {
			fields[k] = v
		}
		secrets = append(secrets, tok.AccessToken)
		if t := s.Tokens[variant]; t != nil {
			secrets = append(secrets, t.AccessToken, t.RefreshToken)
		}
	}
	tctx, cancel := context.WithTimeout(ctx, connectionTestTimeout)
	defer cancel()
	// The test request carries the credential, so it may go only where the credential may.
	dests, err := destinationsOf(ct, s, stored)
	if err != nil {
		return &TestResult{Message: err.Error()}, nil
	}
	client := egress.Bind(c.httpClient(), func(context.Context) (string, egress.Destinations, error) { return row.Name, dests, nil })
	msg, err := ct.Test(tctx, fields, client)
	if err != nil {
		return &TestResult{Message: redact(err.Error(), secrets)}, nil
	}
	return &TestResult{OK: true, Message: redact(msg, secrets)}, nil
}

// secretValues lists the values of a credential's secret fields, for redact.
func secretValues(ct *nodes.CredentialType, fields map[string]string) []string {
	var out []string
	for _, f := range ct.Fields {
		if f.Secret && fields[f.Name] != "" {
			out = append(out, fields[f.Name])
		}
	}
	return out
}

// redact replaces every secret value of four characters or more in text, the longest first: a test reports
// what a server answered, and a server may echo what it was sent. Shorter values would mangle ordinary words.
func redact(text string, secrets []string) string {
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, s := range secrets {
		if len(s) >= 4 {
			text = strings.ReplaceAll(text, s, "[redacted]")
		}
	}
	return text
}
