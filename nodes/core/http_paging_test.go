package core

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
)

// pagedAPI serves 23 records under every paging style the HTTP node knows, checks the API key on every page,
// and keeps the query of each call.
func pagedAPI(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var queries []string
	all := make([]any, 23)
	for i := range all {
		all[i] = map[string]any{"n": int64(i)}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		mu.Lock()
		queries = append(queries, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		if q.Get("api_key") != "k-123" {
			w.WriteHeader(401)
			return
		}
		size, _ := strconv.Atoi(q.Get("limit"))
		if size == 0 {
			size = 10
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/cursor":
			start, _ := strconv.Atoi(q.Get("after"))
			end := min(start+size, len(all))
			next := ""
			if end < len(all) {
				next = strconv.Itoa(end)
			}
			json.NewEncoder(w).Encode(map[string]any{"data": all[start:end], "paging": map[string]any{"next": next}})
		case "/link":
			p, _ := strconv.Atoi(q.Get("p"))
			end := min(p*5+5, len(all))
			if end < len(all) {
				w.Header().Set("Link", fmt.Sprintf(`<http://%s/link?p=%d>; rel="next"`, r.Host, p+1))
			}
			json.NewEncoder(w).Encode(all[p*5 : end])
		case "/page":
			p, _ := strconv.Atoi(q.Get("page"))
			start := min((p-1)*size, len(all))
			w.Header().Set("X-Total-Pages", strconv.Itoa((len(all)+size-1)/size))
			json.NewEncoder(w).Encode(map[string]any{"rows": all[start:min(start+size, len(all))]})
		case "/offset":
			off, _ := strconv.Atoi(q.Get("skip"))
			json.NewEncoder(w).Encode(all[min(off, len(all)):min(off+size, len(all))])
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), queries...)
	}
}

// TestHTTPPaging: the HTTP node reads every page under each style, with an API key in the query carried to the
// provider's own next URLs, and outputs the records with where to go on.
func TestHTTPPaging(t *testing.T) {
	srv, queries := pagedAPI(t)
	key := map[string]string{"name": "api_key", "value": "k-123", "in": "query"}
	for _, c := range []struct {
		path   string
		params map[string]any
		pages  int64
	}{
		{"/cursor", map[string]any{"pagination": "cursor", "itemsPath": "/data", "nextPath": "/paging/next", "cursorParam": "after", "sizeParam": "limit", "pageSize": 10}, 3},
		{"/link", map[string]any{"pagination": "link"}, 5},
		{"/page", map[string]any{"pagination": "page", "itemsPath": "/rows", "sizeParam": "limit", "pageSize": 10, "totalPagesHeader": "X-Total-Pages"}, 3},
		{"/offset", map[string]any{"pagination": "offset", "offsetParam": "skip", "sizeParam": "limit", "pageSize": 10}, 3},
	} {
		params := map[string]any{"url": srv.URL + c.path, "pages": "all"}
		for k, v := range c.params {
			params[k] = v
		}
		res, err := newHTTPNode(t, params).Execute(t.Context(), httpExec(nil, key, nil))
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		out := res.Output.(map[string]any)
		items := out["items"].([]any)
		if len(items) != 23 || items[22].(map[string]any)["n"] != int64(22) || out["complete"] != true || out["pages"] != c.pages {
			t.Errorf("%s: %d items, complete %v, %v pages", c.path, len(items), out["complete"], out["pages"])
		}
	}
	for _, q := range queries() {
		if !strings.Contains(q, "api_key=k-123") {
			t.Errorf("a page went without the key: %s", q)
		}
	}

	// One page, then the next from where it stopped.
	params := map[string]any{"url": srv.URL + "/cursor", "pagination": "cursor", "itemsPath": "/data", "nextPath": "/paging/next",
		"cursorParam": "after", "sizeParam": "limit", "pageSize": 10}
	res, err := newHTTPNode(t, params).Execute(t.Context(), httpExec(nil, key, nil))
	if err != nil {
		t.Fatal(err)
	}
	if out := res.Output.(map[string]any); out["next"] != "10" || out["count"] != int64(10) || out["complete"] != false {
		t.Fatalf("one page: %v", out)
	}
	// The page a failure names does not show the key.
	_, err = newHTTPNode(t, params).Execute(t.Context(), httpExec(nil, map[string]string{"name": "api_key", "value": "wrong", "in": "query"}, nil))
	if err == nil || strings.Contains(fmt.Sprint(err), "wrong") {
		t.Fatalf("refused page: %v", err)
	}
}

func TestHTTPPagingParametersAreChecked(t *testing.T) {
	for name, params := range map[string]map[string]any{
		"a cursor without where the next one is": {"url": "https://api.example.com/x", "pagination": "cursor", "cursorParam": "after"},
		"an offset without a size parameter":     {"url": "https://api.example.com/x", "pagination": "offset"},
		"a page size past the bound":             {"url": "https://api.example.com/x", "pagination": "link", "pageSize": 5000},
		"records at something not a pointer":     {"url": "https://api.example.com/x", "pagination": "link", "itemsPath": "data.items"},
	} {
		if _, err := build(t, HTTPType, mustJSON(t, params), ""); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestHTTPOneRunPerRecord: with one run per record, the node reads every page up to its bounds and asks for a
// child run per record on its output (a test run goes on with the first record), and once they ended it ends
// the branch with their summary.
func TestHTTPOneRunPerRecord(t *testing.T) {
	srv, _ := pagedAPI(t)
	key := map[string]string{"name": "api_key", "value": "k-123", "in": "query"}
	params := map[string]any{"url": srv.URL + "/offset", "pagination": "offset", "offsetParam": "skip", "sizeParam": "limit",
		"pageSize": 10, "pages": "each", "maxItems": 15, "parallel": 4}
	res, err := newHTTPNode(t, params).Execute(t.Context(), httpExec(nil, key, nil))
	if err != nil {
		t.Fatal(err)
	}
	sp := res.Split
	if sp == nil || len(sp.Items) != 15 || sp.Port != nodes.DefaultPort || sp.Parallel != 4 || sp.Keys[14] != "14" ||
		sp.Items[14].(map[string]any)["n"] != int64(14) {
		t.Fatalf("split %+v", sp)
	}
	x := httpExec(nil, key, nil)
	x.Mode = nodes.ModeTest
	res, err = newHTTPNode(t, params).Execute(t.Context(), x)
	if err != nil || res.Split != nil || res.Output.(map[string]any)["n"] != int64(0) {
		t.Fatalf("test run: %+v %v", res, err)
	}
	x = httpExec(nil, key, nil)
	x.Resume = &nodes.Resume{WaitID: "children:http:1", Decision: json.RawMessage(`{"total": 15, "succeeded": 15, "failed": 0}`)}
	res, err = newHTTPNode(t, params).Execute(t.Context(), x)
	if err != nil || res.Port != nodes.PortEnd || res.Output.(map[string]any)["succeeded"] != 15.0 {
		t.Fatalf("resumed: %+v %v", res, err)
	}
	for p, field := range map[string]string{`"parallel": 0`: "parallel", `"maxItems": 20000`: "maxItems"} {
		raw := `{"url": "` + srv.URL + `/offset", "pagination": "offset", "offsetParam": "skip", "sizeParam": "limit", "pages": "each", ` + p + `}`
		_, err := build(t, HTTPType, raw, "")
		wantProblem(t, err, field, nodes.CodeParamInvalid)
	}
}
