package aliyunsms

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/nodetest"
	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/egress"
)

const (
	testKeyID  = "LTAI5tTestKeyId000000000"
	testSecret = "test-access-key-secret-0123456789"
)

// templates are the stand-in account's approved templates and the variables each requires.
var templates = map[string][]string{"SMS_154950909": {"code"}, "SMS_200000001": nil}

// illegalNumber is a number the stand-in's carrier check refuses (isv.MOBILE_NUMBER_ILLEGAL).
const illegalNumber = "13900000000"

var authHeader = regexp.MustCompile(`^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$`)

// standIn is a local dysmsapi enforcing what Alibaba Cloud documents (testdata/README.md): a POST to / with
// x-acs-action SendSms or QuerySmsSignList and x-acs-version 2017-05-25, the ACS3-HMAC-SHA256 signature over
// host and every x-acs-* header (recomputed here from what arrived), x-acs-date within 15 minutes and a nonce
// used once; SendSms with PhoneNumbers (1 to 1,000, comma-separated, 11 digits for the mainland), SignName,
// TemplateCode and TemplateParam as JSON text holding the template's variables. It answers the documented codes,
// including the per-number limit of one message a minute (isv.BUSINESS_LIMIT_CONTROL).
type standIn struct {
	*httptest.Server
	t *testing.T

	mu       sync.Mutex
	nonces   map[string]bool
	lastSent map[string]time.Time
	queries  []url.Values
	sends    int
	throttle bool   // answer Throttling.User
	answer   string // a code to answer SendSms with instead (isp.SYSTEM_ERROR)
}

func newStandIn(t *testing.T) *standIn {
	s := &standIn{t: t, nonces: map[string]bool{}, lastSent: map[string]time.Time{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	prev := origin
	origin = func(string) (*url.URL, error) { return url.Parse(s.URL) }
	t.Cleanup(func() { origin = prev })
	return s
}

func reply(w http.ResponseWriter, status int, v map[string]any) {
	v["RequestId"] = "F655A8D5-B967-440B-8683-DAD6FF8DE990"
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func refuse(w http.ResponseWriter, status int, code, msg string) {
	reply(w, status, map[string]any{"Code": code, "Message": msg})
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	s.queries = append(s.queries, q)
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		s.t.Errorf("%s %s: SendSms is a POST to /", r.Method, r.URL.Path)
		refuse(w, 404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
		return
	}
	if !s.verify(w, r, body) {
		return
	}
	if s.throttle {
		refuse(w, 400, "Throttling.User", "Request was denied due to user flow control.")
		return
	}
	switch r.Header.Get("x-acs-action") {
	case "QuerySmsSignList":
		reply(w, 200, map[string]any{"Code": "OK", "Message": "OK", "TotalCount": 1, "CurrentPage": 1, "PageSize": 1,
			"SmsSignList": []any{map[string]any{"SignName": "阿里云", "AuditStatus": "AUDIT_STATE_PASS"}}})
	case "SendSms":
		s.send(w, q)
	default:
		refuse(w, 404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
	}
}

// verify recomputes the signature from the request as it arrived.
func (s *standIn) verify(w http.ResponseWriter, r *http.Request, body []byte) bool {
	m := authHeader.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		refuse(w, 400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
		return false
	}
	if m[1] != testKeyID {
		refuse(w, 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
		return false
	}
	if r.Header.Get("x-acs-version") != APIVersion {
		s.t.Errorf("x-acs-version %q", r.Header.Get("x-acs-version"))
	}
	if sha256Hex(body) != r.Header.Get("x-acs-content-sha256") {
		refuse(w, 400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
		return false
	}
	names := strings.Split(m[2], ";")
	h := map[string]string{}
	for _, n := range names {
		if n == "host" {
			h[n] = r.Host
			continue
		}
		h[n] = r.Header.Get(n)
	}
	for _, need := range []string{"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"} {
		if _, ok := h[need]; !ok {
			s.t.Errorf("%s is not signed (%s)", need, m[2])
		}
	}
	sig, _, _ := signature(testSecret, r.Method, r.URL.EscapedPath(), canonicalQuery(r.URL.Query()), h, sha256Hex(body))
	if sig != m[3] {
		refuse(w, 400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
		return false
	}
	at, err := time.Parse("2006-01-02T15:04:05Z", r.Header.Get("x-acs-date"))
	if err != nil || time.Since(at).Abs() > 15*time.Minute {
		refuse(w, 400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
		return false
	}
	n := r.Header.Get("x-acs-signature-nonce")
	if s.nonces[n] {
		refuse(w, 400, "SignatureNonceUsed", "Specified signature nonce was used already.")
		return false
	}
	s.nonces[n] = true
	return true
}

var mainland = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

func (s *standIn) send(w http.ResponseWriter, q url.Values) {
	numbers := strings.Split(q.Get("PhoneNumbers"), ",")
	if q.Get("PhoneNumbers") == "" || q.Get("SignName") == "" || q.Get("TemplateCode") == "" {
		refuse(w, 400, "MissingParameter", "The input parameter is missing.")
		return
	}
	if len(numbers) > 1000 {
		refuse(w, 200, "isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制")
		return
	}
	if s.answer != "" {
		refuse(w, 200, s.answer, "系统出现错误")
		return
	}
	vars, ok := templates[q.Get("TemplateCode")]
	if !ok {
		refuse(w, 200, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
		return
	}
	params := map[string]any{}
	if t := q.Get("TemplateParam"); t != "" {
		if err := json.Unmarshal([]byte(t), &params); err != nil {
			refuse(w, 200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
			return
		}
	}
	for _, v := range vars {
		if _, ok := params[v]; !ok {
			refuse(w, 200, "isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值")
			return
		}
	}
	for _, n := range numbers {
		if n == illegalNumber || (!mainland.MatchString(n) && !regexp.MustCompile(`^[1-9][0-9]{6,14}$`).MatchString(n)) {
			refuse(w, 200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
			return
		}
		if at, ok := s.lastSent[n]; ok && time.Since(at) < time.Minute {
			refuse(w, 200, "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")
			return
		}
	}
	for _, n := range numbers {
		s.lastSent[n] = time.Now()
	}
	s.sends++
	reply(w, 200, map[string]any{"Code": "OK", "Message": "OK", "BizId": "9006197469364984400^0"})
}

func (s *standIn) last() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[len(s.queries)-1]
}

func (s *standIn) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queries)
}

// build constructs the aliyunsms.send node the way the engine does, from its registered spec.
func build(t testing.TB, params map[string]any) nodes.Node {
	t.Helper()
	return nodetest.Build(t, "aliyunsms.send", 1, params, "cred-1")
}

func (s *standIn) client() *http.Client {
	ds := egress.MustDestinations(s.URL + "/")
	return egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "Alibaba Cloud SMS", ds, nil })
}

// exec is a live step whose credential may go to the stand-in only.
func (s *standIn) exec(input any, secret string) *nodes.Exec {
	f := map[string]string{FieldAccessKeyID: testKeyID, FieldAccessKeySecret: secret}
	return &nodes.Exec{Input: input, Env: map[string]any{"trigger": input, "env": "live"},
		RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive, IdempotencyKey: "run1:n1", HTTP: s.client(),
		Credential: func(context.Context) (map[string]string, error) { return f, nil }}
}

// failure checks that err is a step failure of code and kind.
func failure(t *testing.T, err error, code string, kind nodes.Kind) *nodes.Error {
	t.Helper()
	return nodetest.Failure(t, err, code, kind)
}
