package connector

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
)

// Ways a provider takes its credential, for Provider.Authorize. Each reads the credential's fields and applies
// them to a request that is otherwise complete; a missing field is an error naming it, never a request sent
// without authentication.

// Bearer sends the field as "Authorization: Bearer <value>"; an OAuth2 credential's current access token is
// used when the credential is an OAuth2 one.
func Bearer(field string) func(*http.Request, map[string]string) error {
	return func(req *http.Request, fields map[string]string) error {
		if tok := fields[nodes.CredentialAccessToken]; tok != "" {
			return OAuth2()(req, fields)
		}
		v, err := required(fields, field)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+v)
		return nil
	}
}

// OAuth2 sends the credential's current access token with its token type (Bearer unless the provider said).
func OAuth2() func(*http.Request, map[string]string) error {
	return func(req *http.Request, fields map[string]string) error {
		tok, err := required(fields, nodes.CredentialAccessToken)
		if err != nil {
			return err
		}
		scheme := fields[nodes.CredentialTokenType]
		if scheme == "" || strings.EqualFold(scheme, "bearer") {
			scheme = "Bearer"
		}
		req.Header.Set("Authorization", scheme+" "+tok)
		return nil
	}
}

// Header sends the field in the named header.
func Header(name, field string) func(*http.Request, map[string]string) error {
	return func(req *http.Request, fields map[string]string) error {
		v, err := required(fields, field)
		if err != nil {
			return err
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return fmt.Errorf("the credential's %s contains a line break", field)
		}
		req.Header.Set(name, v)
		return nil
	}
}

// Basic sends two fields as HTTP basic authentication.
func Basic(userField, passField string) func(*http.Request, map[string]string) error {
	return func(req *http.Request, fields map[string]string) error {
		user, err := required(fields, userField)
		if err != nil {
			return err
		}
		req.SetBasicAuth(user, fields[passField])
		return nil
	}
}

// Query sends fields as query parameters (param name to field name), for providers that take keys in the URL.
func Query(params map[string]string) func(*http.Request, map[string]string) error {
	return func(req *http.Request, fields map[string]string) error {
		q := req.URL.Query()
		for param, field := range params {
			v, err := required(fields, field)
			if err != nil {
				return err
			}
			q.Set(param, v)
		}
		req.URL.RawQuery = q.Encode()
		return nil
	}
}

func required(fields map[string]string, name string) (string, error) {
	v := strings.TrimSpace(fields[name])
	if v == "" {
		return "", fmt.Errorf("the credential has no %s", name)
	}
	return v, nil
}
