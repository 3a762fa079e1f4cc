package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Report is what a benchmark measured: the figures IT compares with the expected capacity before a promotion.
// Print shows it to people; its JSON form (durations in milliseconds and seconds, memory in MB) is for scripts.
type Report struct {
	// URL is the server that was measured.
	URL string `json:"url"`
	// FlowID is the flow that was loaded; FlowCreated tells whether the benchmark published it.
	FlowID      string `json:"flowId"`
	FlowCreated bool   `json:"flowCreated"`
	// Mode is ModeSync when callers waited for the flow's answer, ModeAsync when they got 202 on commit.
	Mode string `json:"mode"`
	// EchoURL is where the reference flow's HTTP call went, when the "+ HTTP call" variant was measured.
	EchoURL string `json:"echoUrl,omitempty"`
	// Concurrency is how many requests were in flight at once.
	Concurrency int `json:"concurrency"`
	// OrderIDPrefix starts every order id sent, so the load's runs can be found by business key.
	OrderIDPrefix string `json:"orderIdPrefix"`
	// LoadDuration runs from the first request to the last answer.
	LoadDuration time.Duration `json:"-"`

	// Sent counts requests; Accepted those answered 2xx; Duplicates the 2xx answers marked as a repeated
	// event (none are expected: every order id is new).
	Sent       int64 `json:"sent"`
	Accepted   int64 `json:"accepted"`
	Duplicates int64 `json:"duplicates"`
	// Errors counts the other requests by kind: "HTTP <status>" or a transport failure such as "timeout".
	Errors map[string]int64 `json:"errors"`
	// FirstError is the first failure in full, for a first look at what went wrong.
	FirstError string `json:"firstError,omitempty"`

	// AcceptedPerSec is Accepted over LoadDuration.
	AcceptedPerSec float64 `json:"acceptedPerSec"`
	// CompletedPerSec is RunsFinished over CompletionSpan.
	CompletedPerSec float64 `json:"completedPerSec"`
	// AcceptLatency is the time from sending a request to having its whole 2xx answer.
	AcceptLatency Percentiles `json:"acceptLatency"`
	// EndToEndLatency is each finished run's finished_at − created_at, on the server's clock.
	EndToEndLatency Percentiles `json:"endToEndLatency"`

	// Runs counts the load's runs by status after the wait.
	Runs map[string]int64 `json:"runs"`
	// RunsFound is how many of the load's runs the run list showed: one per accepted request when nothing
	// was lost.
	RunsFound int64 `json:"runsFound"`
	// RunsFinished counts the runs that reached a final status (succeeded, failed or cancelled).
	RunsFinished int64 `json:"runsFinished"`
	// CompletionSpan runs from the first run's creation to the last run's finish, on the server's clock.
	CompletionSpan time.Duration `json:"-"`
	// WaitTimedOut is set when runs were still queued, running or waiting when the wait ran out.
	WaitTimedOut bool `json:"waitTimedOut"`
	// CountedAllRunsOfFlow is set when some accepted requests named no run, so every run of the flow created
	// during the load was counted, other traffic included.
	CountedAllRunsOfFlow bool `json:"countedAllRunsOfFlow,omitempty"`

	// RSS is the server's resident memory before the load, after the runs finished, and the highest of all
	// samples, taken every second from the start of the load until the runs finished.
	RSS Memory `json:"rss"`
}

// Percentiles summarises a set of latencies with exact nearest-rank percentiles.
type Percentiles struct {
	// Count is the number of samples.
	Count int
	// P50, P95 and P99 are the latencies that 50, 95 and 99 percent of the samples did not exceed.
	P50, P95, P99 time.Duration
	// Max is the slowest sample.
	Max time.Duration
}

// Memory is resident memory in bytes; 0 means it could not be read, and Problem says why.
type Memory struct {
	// Before is sampled ahead of the load, After once the runs finished, Peak is the highest sample.
	Before, Peak, After uint64
	// Problem is why /metrics could not be read, the first time it could not.
	Problem string
}

// MB is 2^20 bytes, the unit ps and top report memory in.
const MB = 1 << 20

// summarize sorts values in place and returns their percentiles.
func summarize(values []time.Duration) Percentiles {
	slices.Sort(values)
	if len(values) == 0 {
		return Percentiles{}
	}
	return Percentiles{Count: len(values), P50: percentile(values, 50), P95: percentile(values, 95),
		P99: percentile(values, 99), Max: values[len(values)-1]}
}

// percentile returns the nearest-rank p-th percentile of sorted: the smallest value that at least p percent
// of the values do not exceed. It is always one of the values, never an interpolation.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// The epsilon keeps float noise (99.9% of 1000 computing as 999.0000000000001) from raising the rank.
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

func (r *Report) addLoad(l *loadResult) {
	r.OrderIDPrefix = l.orderPrefix
	r.LoadDuration = l.elapsed
	r.Sent, r.Accepted, r.Duplicates = l.sent, l.accepted, l.duplicates
	r.Errors, r.FirstError = l.errors, l.firstError
	if s := l.elapsed.Seconds(); s > 0 {
		r.AcceptedPerSec = round(float64(l.accepted)/s, 1)
	}
	r.AcceptLatency = summarize(l.latencies)
}

func (r *Report) addRuns(res *runsResult) {
	r.Runs, r.RunsFound, r.RunsFinished = res.byStatus, res.found, res.finished
	r.WaitTimedOut, r.CountedAllRunsOfFlow = res.waitTimedOut, res.allOfFlow
	r.EndToEndLatency = summarize(res.endToEnd)
	if res.finished > 0 {
		r.CompletionSpan = res.lastFinished.Sub(res.firstCreated)
		if s := r.CompletionSpan.Seconds(); s > 0 {
			r.CompletedPerSec = round(float64(res.finished)/s, 1)
		}
	}
}

// MarshalJSON writes latencies in milliseconds.
func (p Percentiles) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Count int     `json:"count"`
		P50   float64 `json:"p50Ms"`
		P95   float64 `json:"p95Ms"`
		P99   float64 `json:"p99Ms"`
		Max   float64 `json:"maxMs"`
	}{p.Count, ms(p.P50), ms(p.P95), ms(p.P99), ms(p.Max)})
}

// MarshalJSON writes memory in MB, with the exact bytes beside.
func (m Memory) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		BeforeMB    float64 `json:"beforeMb"`
		PeakMB      float64 `json:"peakMb"`
		AfterMB     float64 `json:"afterMb"`
		BeforeBytes uint64  `json:"beforeBytes"`
		PeakBytes   uint64  `json:"peakBytes"`
		AfterBytes  uint64  `json:"afterBytes"`
		Problem     string  `json:"problem,omitempty"`
	}{mb(m.Before), mb(m.Peak), mb(m.After), m.Before, m.Peak, m.After, m.Problem})
}

// MarshalJSON adds the load duration and completion span in seconds.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return json.Marshal(struct {
		plain
		LoadSeconds       float64 `json:"loadSeconds"`
		CompletionSeconds float64 `json:"completionSeconds"`
	}{plain(r), round(r.LoadDuration.Seconds(), 3), round(r.CompletionSpan.Seconds(), 3)})
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

func mb(b uint64) float64 { return round(float64(b)/MB, 1) }

func round(v float64, places int) float64 {
	f := math.Pow(10, float64(places))
	return math.Round(v*f) / f
}

// statusOrder is the order runs by status are printed in; other statuses follow alphabetically.
var statusOrder = []string{statusSucceeded, statusFailed, statusCancelled, statusQueued, statusRunning, statusWaiting}

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-16s"+format+"\n", append([]any{label}, args...)...)
	}
	fmt.Fprintf(w, "Ferry capacity benchmark: %s\n", r.URL)
	origin := "existing flow"
	if r.FlowCreated {
		origin = "reference flow, published for this benchmark"
		if r.EchoURL != "" {
			origin = "reference flow + HTTP call to " + r.EchoURL + ", published for this benchmark"
		}
	}
	line("flow", "%s (%s, %s)", r.FlowID, r.Mode, origin)
	line("load", "%d connections for %s, order ids %s<n>", r.Concurrency, r.LoadDuration.Round(time.Millisecond), r.OrderIDPrefix)

	var failed int64
	for _, n := range r.Errors {
		failed += n
	}
	req := fmt.Sprintf("sent %s   accepted (2xx) %s   errors %s", count(r.Sent), count(r.Accepted), count(failed))
	if len(r.Errors) > 0 {
		kinds := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		for i, k := range kinds {
			kinds[i] = k + ": " + count(r.Errors[k])
		}
		req += " (" + strings.Join(kinds, ", ") + ")"
	}
	if r.Duplicates > 0 {
		req += fmt.Sprintf("   answered as duplicates %s", count(r.Duplicates))
	}
	line("requests", "%s", req)
	if r.FirstError != "" {
		line("", "first error: %s", r.FirstError)
	}
	line("throughput", "accepted %s/s   completed %s/s (%s runs finished in %s)", rate(r.AcceptedPerSec),
		rate(r.CompletedPerSec), count(r.RunsFinished), r.CompletionSpan.Round(time.Millisecond))
	line("accept latency", "%s", latencies(r.AcceptLatency))
	line("end-to-end", "%s", latencies(r.EndToEndLatency))

	statuses := slices.Clone(statusOrder)
	var others []string
	for s := range r.Runs {
		if !slices.Contains(statusOrder, s) {
			others = append(others, s)
		}
	}
	slices.Sort(others)
	var parts []string
	for _, s := range append(statuses, others...) {
		if n := r.Runs[s]; n > 0 {
			parts = append(parts, s+" "+count(n))
		}
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	line("runs", "%s   (%s found for %s accepted requests)", strings.Join(parts, "   "), count(r.RunsFound), count(r.Accepted))
	if r.CountedAllRunsOfFlow {
		line("", "some answers named no run: every run of the flow created during the load was counted")
	}
	if r.WaitTimedOut {
		line("", "WARNING: runs were still queued, running or waiting when the wait ran out; completion figures cover finished runs only")
	}
	if r.RSS.Problem != "" && r.RSS.Peak == 0 {
		line("server RSS", "unknown: %s", r.RSS.Problem)
	} else {
		line("server RSS", "before %.1f MB   peak %.1f MB   after %.1f MB", mb(r.RSS.Before), mb(r.RSS.Peak), mb(r.RSS.After))
	}
}

func latencies(p Percentiles) string {
	if p.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s   p95 %s   p99 %s   max %s", msText(p.P50), msText(p.P95), msText(p.P99), msText(p.Max))
}

func msText(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}

func rate(v float64) string {
	whole := int64(v)
	frac := int64(math.Round((v - float64(whole)) * 10))
	if frac == 10 {
		whole, frac = whole+1, 0
	}
	return count(whole) + "." + strconv.FormatInt(frac, 10)
}

// count writes n with thousands separators.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
