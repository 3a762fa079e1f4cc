package tencentsms

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
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
	testSecretID  = "AKIDtestsecretid0123456789abcdef"
	testSecretKey = "testsecretkey0123456789abcdef"
	testApp       = "1400006666"
)

// templates are the stand-in application's approved templates and how many values each takes.
var templates = map[string]int{"449739": 2, "449740": 0}

// incorrectNumber is a number the stand-in refuses as incorrect (InvalidParameterValue.IncorrectPhoneNumber).
const incorrectNumber = "+8613900000000"

var tc3Header = regexp.MustCompile(`^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/sms/tc3_request, SignedHeaders=([a-z;-]+), Signature=([0-9a-f]{64})$`)

// standIn is a local sms.tencentcloudapi.com enforcing what Tencent Cloud documents (testdata/README.md): a POST
// of JSON to / with X-TC-Action (SendSms, SendStatusStatistics), X-TC-Version 2021-01-11, X-TC-Region, and
// X-TC-Timestamp within five minutes, signed with TC3-HMAC-SHA256 (recomputed here from what arrived, the
// credential scope's date the timestamp's UTC date); SendSms with SmsSdkAppId, 1 to 200 numbers in E.164,
// TemplateId, TemplateParamSet of texts matching the template, SignName for mainland numbers. Refusals are
// status 200 with Response.Error; each number gets its SendStatusSet entry, with the per-number limit of one
// message in 30 seconds (LimitExceeded.PhoneNumberThirtySecondLimit).
type standIn struct {
	*httptest.Server
	t *testing.T

	mu       sync.Mutex
	bodies   []map[string]any
	headers  []http.Header
	lastSent map[string]time.Time
	sent     int
	fail     string // a Response.Error code to answer with (RequestLimitExceeded, InternalError)
}

func newStandIn(t *testing.T) *standIn {
	s := &standIn{t: t, lastSent: map[string]time.Time{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	prev := origin
	origin = func() *url.URL { u, _ := url.Parse(s.URL); return u }
	t.Cleanup(func() { origin = prev })
	return s
}

func respond(w http.ResponseWriter, v map[string]any) {
	v["RequestId"] = "a0aabda6-cf91-4f3e-a2d0-4b8aa8aa1f3e"
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"Response": v})
}

func refuse(w http.ResponseWriter, code, msg string) {
	respond(w, map[string]any{"Error": map[string]any{"Code": code, "Message": msg}})
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	var body map[string]any
	if r.Method != http.MethodPost || r.URL.Path != "/" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") ||
		json.Unmarshal(raw, &body) != nil {
		s.t.Errorf("%s %s %q: API 3.0 takes a POST of JSON to /", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		refuse(w, "InvalidParameter", "The request is not a POST of JSON.")
		return
	}
	s.bodies = append(s.bodies, body)
	s.headers = append(s.headers, r.Header.Clone())
	if !s.verify(w, r, raw) {
		return
	}
	if s.fail != "" {
		refuse(w, s.fail, "The request was refused: "+s.fail)
		return
	}
	if body["SmsSdkAppId"] != testApp {
		refuse(w, "FailedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId 校验失败，请检查 SmsSdkAppId 是否属于云 API 密钥的关联账号。")
		return
	}
	switch r.Header.Get("X-TC-Action") {
	case "SendStatusStatistics":
		for _, k := range []string{"BeginTime", "EndTime"} {
			if v, _ := body[k].(string); len(v) != 10 {
				refuse(w, "InvalidParameterValue.StartTimeNeedLessThanEndTime", k+" is not yyyymmddhh")
				return
			}
		}
		if body["BeginTime"].(string)[:6] != body["EndTime"].(string)[:6] || body["EndTime"].(string) <= body["BeginTime"].(string) || body["Limit"] != float64(0) || body["Offset"] != float64(0) {
			refuse(w, "InvalidParameterValue", "EndTime must be after BeginTime, in one month; Limit and Offset are 0.")
			return
		}
		respond(w, map[string]any{"SendStatusStatistics": map[string]any{"FeeCount": 3, "RequestCount": 3, "RequestSuccessCount": 3}})
	case "SendSms":
		s.send(w, body)
	default:
		refuse(w, "InvalidAction", "The action is not found.")
	}
}

// verify recomputes the signature from the request as it arrived.
func (s *standIn) verify(w http.ResponseWriter, r *http.Request, raw []byte) bool {
	if r.Header.Get("X-TC-Version") != APIVersion {
		refuse(w, "InvalidParameter", "X-TC-Version is not "+APIVersion)
		return false
	}
	if !regions[r.Header.Get("X-TC-Region")] {
		refuse(w, "InvalidParameterValue", "The region is not supported.")
		return false
	}
	m := tc3Header.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil || m[3] != "content-type;host" {
		refuse(w, "AuthFailure.InvalidAuthorization", "Authorization is not in the TC3-HMAC-SHA256 form.")
		return false
	}
	if m[1] != testSecretID {
		refuse(w, "AuthFailure.SecretIdNotFound", "The SecretId is not found.")
		return false
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		refuse(w, "AuthFailure.SignatureExpire", "Signature expired.")
		return false
	}
	sig, scope := signature(testSecretKey, "sms", ts, canonicalRequest(r.Header.Get("Content-Type"), r.Host, raw))
	if scope != m[2]+"/sms/tc3_request" || sig != m[4] {
		refuse(w, "AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check your signature is correct.")
		return false
	}
	return true
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func (s *standIn) send(w http.ResponseWriter, body map[string]any) {
	numbers, _ := body["PhoneNumberSet"].([]any)
	if len(numbers) == 0 || len(numbers) > 200 {
		refuse(w, "LimitExceeded.PhoneNumberCountLimit", "单次提交的手机号数量超过200个。")
		return
	}
	id, _ := body["TemplateId"].(string)
	want, ok := templates[id]
	if !ok {
		refuse(w, "FailedOperation.TemplateIdNotExist", "模板 ID 不存在或者未审核通过。")
		return
	}
	params, _ := body["TemplateParamSet"].([]any)
	for _, p := range params {
		if _, ok := p.(string); !ok {
			refuse(w, "InvalidParameterValue.TemplateParameterFormatError", "验证码模板参数格式错误。")
			return
		}
	}
	if len(params) != want {
		refuse(w, "FailedOperation.TemplateParamSetNotMatchApprovedTemplate", "请求内容与审核通过的模板内容不匹配。")
		return
	}
	var set []any
	for i, n := range numbers {
		num, _ := n.(string)
		if !e164.MatchString(num) {
			refuse(w, "InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误。")
			return
		}
		if strings.HasPrefix(num, "+86") && body["SignName"] == nil {
			refuse(w, "MissingParameter.EmptyPhoneNumberSet", "国内短信需要签名。")
			return
		}
		st := map[string]any{"SerialNo": "", "PhoneNumber": num, "Fee": 0, "SessionContext": body["SessionContext"], "IsoCode": "CN"}
		switch at, seen := s.lastSent[num]; {
		case num == incorrectNumber:
			st["Code"], st["Message"] = "InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误"
		case seen && time.Since(at) < 30*time.Second:
			st["Code"], st["Message"] = "LimitExceeded.PhoneNumberThirtySecondLimit", "单个手机号30秒内下发短信条数超过设定的上限"
		default:
			s.lastSent[num] = time.Now()
			s.sent++
			st["Code"], st["Message"], st["Fee"] = "Ok", "send success", 1
			st["SerialNo"] = fmt.Sprintf("5000:1045710669157053657849499%03d", i)
		}
		set = append(set, st)
	}
	respond(w, map[string]any{"SendStatusSet": set})
}

func (s *standIn) last() (map[string]any, http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[len(s.bodies)-1], s.headers[len(s.headers)-1]
}

func (s *standIn) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

// build constructs the tencentsms.send node the way the engine does, from its registered spec.
func build(t testing.TB, params map[string]any) nodes.Node {
	t.Helper()
	return nodetest.Build(t, "tencentsms.send", 1, params, "cred-1")
}

func (s *standIn) client() *http.Client {
	ds := egress.MustDestinations(s.URL + "/")
	return egress.Bind(testenv.LocalClient(), func(context.Context) (string, egress.Destinations, error) { return "Tencent Cloud SMS", ds, nil })
}

func fields(key string) map[string]string {
	return map[string]string{FieldSecretID: testSecretID, FieldSecretKey: key, FieldSdkAppID: testApp, FieldRegion: "ap-guangzhou"}
}

// exec is a live step whose credential may go to the stand-in only.
func (s *standIn) exec(input any, key string) *nodes.Exec {
	f := fields(key)
	return &nodes.Exec{Input: input, Env: map[string]any{"trigger": input, "env": "live"},
		RunID: "run1", NodeID: "n1", Attempt: 1, Mode: nodes.ModeLive, IdempotencyKey: "run1:n1", HTTP: s.client(),
		Credential: func(context.Context) (map[string]string, error) { return f, nil }}
}

// failure checks that err is a step failure of code and kind.
func failure(t *testing.T, err error, code string, kind nodes.Kind) *nodes.Error {
	t.Helper()
	return nodetest.Failure(t, err, code, kind)
}
