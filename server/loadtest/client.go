package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// apiClient calls Ferry's API for the benchmark's bookkeeping (publishing, listing runs, metrics), on
// connections of its own so it never takes one from the load.
type apiClient struct {
	base  string
	token string
	hc    *http.Client
}

func newAPIClient(base, token string) *apiClient {
	return &apiClient{base: base, token: token, hc: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second},
	}}
}

func (a *apiClient) close() { a.hc.CloseIdleConnections() }

// apiError is an answer of the API other than 2xx, with Ferry's error code when the body has one.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// do sends a request to path and decodes a JSON answer into out (when not nil).
func (a *apiClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	raw, err := a.raw(ctx, method, path, body)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: unexpected answer: %w", method, path, err)
	}
	return nil
}

// raw sends a request to path and returns the body of a 2xx answer.
func (a *apiClient) raw(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &apiError{Status: resp.StatusCode, Message: truncate(raw, 300)}
		var env struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &env) == nil && env.Error.Code != "" {
			e.Code, e.Message = env.Error.Code, env.Error.Message
		}
		return nil, fmt.Errorf("%s %s: %w", method, path, e)
	}
	return raw, nil
}

// flowInfo is the part of a flow the benchmark reads.
type flowInfo struct {
	ID               string `json:"id"`
	Status           string `json:"status"`
	PublishedVersion int    `json:"publishedVersion"`
	WebhookURL       string `json:"webhookUrl"`
}

// importFlow creates a flow from doc and publishes it, all or nothing, and returns its id.
func (a *apiClient) importFlow(ctx context.Context, doc []byte) (string, error) {
	var f flowInfo
	if err := a.do(ctx, http.MethodPost, "/api/v1/flows/import?publish=true", doc, &f); err != nil {
		return "", err
	}
	if f.ID == "" {
		return "", errors.New("the server answered without a flow id")
	}
	return f.ID, nil
}

// publishedMode checks that flow id is published with a webhook trigger and tells whether it answers
// synchronously.
func (a *apiClient) publishedMode(ctx context.Context, id string) (string, error) {
	var f flowInfo
	if err := a.do(ctx, http.MethodGet, "/api/v1/flows/"+url.PathEscape(id), nil, &f); err != nil {
		return "", err
	}
	if f.Status != "published" || f.PublishedVersion == 0 {
		return "", fmt.Errorf("the flow is %s, not published; its webhook would refuse the load", f.Status)
	}
	doc, err := a.raw(ctx, http.MethodGet, "/api/v1/flows/"+url.PathEscape(id)+"/export?version="+strconv.Itoa(f.PublishedVersion), nil)
	if err != nil {
		return "", err
	}
	return webhookMode(doc)
}

// runInfo is a run as the run list shows it, reduced to what the benchmark needs.
type runInfo struct {
	ID         string     `json:"id"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"createdAt"`
	FinishedAt *time.Time `json:"finishedAt"`
}

type runPage struct {
	Runs       []runInfo `json:"runs"`
	NextCursor string    `json:"nextCursor"`
}

// listRuns reads one page of GET /api/v1/runs with the given filters.
func (a *apiClient) listRuns(ctx context.Context, q url.Values) (runPage, error) {
	var p runPage
	err := a.do(ctx, http.MethodGet, "/api/v1/runs?"+q.Encode(), nil, &p)
	return p, err
}
