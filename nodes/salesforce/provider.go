package salesforce

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// Failure codes read from Salesforce's error array ([{"message", "errorCode", "fields"}]), beside the runtime's
// status codes (salesforce_unauthorized, salesforce_not_found, salesforce_invalid_request…).
const (
	// CodeRateLimited: REQUEST_LIMIT_EXCEEDED (403), the org's rolling 24-hour request allowance (or its
	// concurrent long-running requests) is used up. Waited out and retried, not a refusal of the credential.
	CodeRateLimited = "salesforce_rate_limited"
	// CodeSessionInvalid: INVALID_SESSION_ID (401), the access token expired or was revoked.
	CodeSessionInvalid = "salesforce_session_invalid"
	// CodeNotFound: NOT_FOUND or ENTITY_IS_DELETED.
	CodeNotFound = "salesforce_not_found"
	// CodeDuplicate: DUPLICATE_VALUE (a unique field) or DUPLICATES_DETECTED (a duplicate rule).
	CodeDuplicate = "salesforce_duplicate"
	// CodeValidation: the record broke a rule of the org (a validation rule, a required field, a picklist).
	CodeValidation = "salesforce_validation_failed"
	// CodeQueryInvalid: MALFORMED_QUERY, or a query naming a field or sObject the org does not have.
	CodeQueryInvalid = "salesforce_query_invalid"
	// CodeFieldInvalid: INVALID_FIELD, INVALID_TYPE, INVALID_FIELD_FOR_INSERT_UPDATE, JSON_PARSER_ERROR,
	// MALFORMED_ID: the request names what the org does not have or cannot write.
	CodeFieldInvalid = "salesforce_field_invalid"
	// CodeRecordLocked: UNABLE_TO_LOCK_ROW, another transaction holds the record; retried.
	CodeRecordLocked = "salesforce_record_locked"
	// CodeExternalIDAmbiguous: an upsert's external id matched more than one record (300 Multiple Choices);
	// nothing was written.
	CodeExternalIDAmbiguous = "salesforce_external_id_ambiguous"
	// CodeAPIDisabled: API_DISABLED_FOR_ORG or API_CURRENTLY_DISABLED: the org's edition or the user's profile
	// has no API access.
	CodeAPIDisabled = "salesforce_api_disabled"
)

// RateLimitWait is how long a step waits after REQUEST_LIMIT_EXCEEDED: Salesforce names no time, and its
// allowance is a rolling 24 hours, so capacity comes back gradually.
const RateLimitWait = 5 * time.Minute

// errorCodes maps Salesforce's errorCode values to Ferry's codes and outcomes.
var errorCodes = map[string]struct {
	code string
	kind nodes.Kind
}{
	"INVALID_SESSION_ID":                      {CodeSessionInvalid, nodes.Permanent},
	"NOT_FOUND":                               {CodeNotFound, nodes.Permanent},
	"ENTITY_IS_DELETED":                       {CodeNotFound, nodes.Permanent},
	"DUPLICATE_VALUE":                         {CodeDuplicate, nodes.Permanent},
	"DUPLICATES_DETECTED":                     {CodeDuplicate, nodes.Permanent},
	"FIELD_CUSTOM_VALIDATION_EXCEPTION":       {CodeValidation, nodes.Permanent},
	"REQUIRED_FIELD_MISSING":                  {CodeValidation, nodes.Permanent},
	"STRING_TOO_LONG":                         {CodeValidation, nodes.Permanent},
	"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": {CodeValidation, nodes.Permanent},
	"FIELD_INTEGRITY_EXCEPTION":               {CodeValidation, nodes.Permanent},
	"INVALID_CROSS_REFERENCE_KEY":             {CodeValidation, nodes.Permanent},
	"MALFORMED_QUERY":                         {CodeQueryInvalid, nodes.Permanent},
	"INVALID_QUERY_FILTER_OPERATOR":           {CodeQueryInvalid, nodes.Permanent},
	"INVALID_QUERY_LOCATOR":                   {CodeQueryInvalid, nodes.Permanent},
	"INVALID_FIELD":                           {CodeFieldInvalid, nodes.Permanent},
	"INVALID_TYPE":                            {CodeFieldInvalid, nodes.Permanent},
	"INVALID_FIELD_FOR_INSERT_UPDATE":         {CodeFieldInvalid, nodes.Permanent},
	"JSON_PARSER_ERROR":                       {CodeFieldInvalid, nodes.Permanent},
	"MALFORMED_ID":                            {CodeFieldInvalid, nodes.Permanent},
	"UNABLE_TO_LOCK_ROW":                      {CodeRecordLocked, nodes.Retryable},
	"API_DISABLED_FOR_ORG":                    {CodeAPIDisabled, nodes.Permanent},
	"API_CURRENTLY_DISABLED":                  {CodeAPIDisabled, nodes.Permanent},
}

// origin maps an instance URL to where its requests go; tests point it at a stand-in.
var origin = func(u *url.URL) *url.URL { return u }

func baseURL(fields map[string]string) (*url.URL, error) {
	u, err := InstanceURL(fields)
	if err != nil {
		return nil, err
	}
	return origin(u).JoinPath(APIPath), nil
}

// provider is what every Salesforce operation shares.
var provider = &connector.Provider{
	Name:        Provider,
	Title:       "Salesforce",
	Credentials: []string{CredentialOAuth2, CredentialClient},
	BaseURL:     baseURL,
	Authorize:   connector.OAuth2(),
	Headers:     map[string]string{"Accept": "application/json"},
	// The first error of the array is quoted by the status mapping; Check quotes every one.
	ErrorCode:    "/0/errorCode",
	ErrorMessage: "/0/message",
	Check:        check,
	Usage:        usage,
	// INVALID_SESSION_ID: a session revoked, or ended by the org's session timeout before the token's announced
	// life; the vault renews the token once and the request is sent again.
	SessionRefused: func(a *connector.Answer) bool {
		return a.Status == http.StatusUnauthorized && a.Get("/0/errorCode") == "INVALID_SESSION_ID"
	},
	Docs: "**API:** Salesforce REST API " + APIVersion + " at the org's instance URL (`https://{instance}" + APIPath + "`), " +
		"which the token answer names. Salesforce's errors (`[{\"message\", \"errorCode\", \"fields\"}]`) are quoted verbatim " +
		"and mapped to stable codes: `REQUEST_LIMIT_EXCEEDED` → `" + CodeRateLimited + "` (waits and retries: the daily " +
		"allowance comes back over a rolling 24 hours), `INVALID_SESSION_ID` renews the OAuth2 token once and sends the request again, then fails with `" + CodeSessionInvalid + "`, `NOT_FOUND` → `" +
		CodeNotFound + "`, `DUPLICATE_VALUE` and `DUPLICATES_DETECTED` → `" + CodeDuplicate + "`, validation rules, required " +
		"fields and picklists → `" + CodeValidation + "`, `MALFORMED_QUERY` → `" + CodeQueryInvalid + "`, `INVALID_FIELD`, " +
		"`INVALID_TYPE`, `MALFORMED_ID` → `" + CodeFieldInvalid + "`, `UNABLE_TO_LOCK_ROW` → `" + CodeRecordLocked + "` " +
		"(retried). The `Sforce-Limit-Info` header of every answer (`api-usage=used/limit`) is exported as the " +
		"`ferry_provider_api_usage` gauge by credential.",
}

// check reads Salesforce's error array on every failed answer, and the 300 an ambiguous upsert answers.
func check(a *connector.Answer) error {
	if a.Status == http.StatusMultipleChoices {
		return nodes.NewPermanent(CodeExternalIDAmbiguous, fmt.Errorf("salesforce: the external id matches more than one record "+
			"(300 Multiple Choices); nothing was written: make the value unique or update the record by its id"))
	}
	if a.Status < 400 {
		return nil
	}
	list, _ := a.JSON.([]any)
	if len(list) == 0 {
		return nil
	}
	var msgs []string
	first := ""
	for _, item := range list {
		e, _ := item.(map[string]any)
		code, _ := e["errorCode"].(string)
		msg, _ := e["message"].(string)
		if first == "" {
			first = code
		}
		text := code + ": " + msg
		if fields, _ := e["fields"].([]any); len(fields) > 0 {
			names := make([]string, 0, len(fields))
			for _, f := range fields {
				names = append(names, fmt.Sprint(f))
			}
			text += " (fields: " + strings.Join(names, ", ") + ")"
		}
		msgs = append(msgs, text)
	}
	err := fmt.Errorf("salesforce: status %d %s: %s", a.Status, http.StatusText(a.Status), strings.Join(msgs, "; "))
	if first == "REQUEST_LIMIT_EXCEEDED" {
		wait := RateLimitWait
		if after, ok := connector.RetryAfter(a.Header.Get("Retry-After")); ok && after > 0 {
			wait = after
		}
		return nodes.NewRateLimited(CodeRateLimited, err, wait)
	}
	m, ok := errorCodes[first]
	if !ok {
		return nil // the status decides; the runtime quotes the first error
	}
	if m.kind == nodes.Retryable {
		return nodes.NewRetryable(m.code, err)
	}
	return nodes.NewPermanent(m.code, err)
}

// LimitInfo reads the Sforce-Limit-Info header Salesforce sends with every REST answer ("api-usage=18/15000"):
// the org's API requests in the last 24 hours and its allowance.
func LimitInfo(h http.Header) (used, limit int64, ok bool) {
	for _, part := range strings.Split(h.Get("Sforce-Limit-Info"), ",") {
		v, found := strings.CutPrefix(strings.TrimSpace(part), "api-usage=")
		if !found {
			continue
		}
		u, l, found := strings.Cut(v, "/")
		if !found {
			return 0, 0, false
		}
		var err1, err2 error
		used, err1 = strconv.ParseInt(strings.TrimSpace(u), 10, 64)
		limit, err2 = strconv.ParseInt(strings.TrimSpace(l), 10, 64)
		return used, limit, err1 == nil && err2 == nil && used >= 0 && limit > 0
	}
	return 0, 0, false
}

func usage(a *connector.Answer) (used, limit int64, ok bool) { return LimitInfo(a.Header) }
