package aliyunsms

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// templateCode is the shape of an SMS template's code (SMS_154950909).
var templateCode = regexp.MustCompile(`^SMS_[0-9]+$`)

func checkTemplateCode(v any) (any, error) {
	s := strings.TrimSpace(fmt.Sprint(v))
	if !templateCode.MatchString(s) {
		return nil, fmt.Errorf("%q is not a template code (SMS_ and digits, such as SMS_154950909)", s)
	}
	return s, nil
}

func checkSignName(v any) (any, error) {
	s := strings.TrimSpace(fmt.Sprint(v))
	if s == "" {
		return nil, fmt.Errorf("no sign name (the approved 签名名称, such as 阿里云)")
	}
	return s, nil
}

// checkTemplateParam writes the template's variables as the JSON text SendSms takes ({"code":"1234"}); an
// object may be given as it is or as its text.
func checkTemplateParam(v any) (any, error) {
	if s, ok := v.(string); ok {
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		parsed, err := nodes.DecodeJSON([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("the template parameters are not a JSON object ({\"code\": \"1234\"}): %v", err)
		}
		v = parsed
	}
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the template parameters are not an object of the template's variables ({\"code\": \"1234\"})")
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func init() {
	numbers := connector.Param{Field: nodes.Field{Name: "phoneNumbers", Label: "Phone numbers", Type: nodes.TypeString, Expression: true, Required: true,
		Description: "Up to 1,000 numbers in E.164 form (+8613800138000), separated by commas, or a list. Each is validated before " +
			"sending; Chinese mainland numbers go out as 11 digits, others as country code and number.",
		Examples: []nodes.Example{{Name: "From the trigger", Value: "{{ trigger.body.customer.phone }}"}}},
		In: connector.InBody, Key: "/PhoneNumbers", As: connector.AsList, Transform: checkNumbers}
	signName := connector.Param{Field: nodes.Field{Name: "signName", Label: "Sign name", Type: nodes.TypeString, Expression: true, Required: true,
		Description: "The approved signature (签名名称) shown at the start of the message, such as 阿里云."},
		In: connector.InBody, Key: "/SignName", Transform: checkSignName}
	template := connector.Param{Field: nodes.Field{Name: "templateCode", Label: "Template code", Type: nodes.TypeString, Expression: true, Required: true,
		Description: "The approved template's code (模板CODE), such as SMS_154950909."},
		In: connector.InBody, Key: "/TemplateCode", Transform: checkTemplateCode}
	params := connector.Param{Field: nodes.Field{Name: "templateParam", Label: "Template parameters", Type: nodes.TypeJSON, Expression: true,
		Description: "The template's variables as a JSON object: {\"code\": \"1234\"} for a template reading ${code}. Empty for a template without variables.",
		Examples:    []nodes.Example{{Name: "Failed payment", Value: `{{ {"order": trigger.body.orderId, "amount": trigger.body.amount} }}`}}},
		In: connector.InBody, Key: "/TemplateParam", Transform: checkTemplateParam}
	outID := connector.Param{Field: nodes.Field{Name: "outId", Label: "Out ID", Type: nodes.TypeString, Expression: true, Advanced: true,
		Description: "Your own id of the send (OutId), returned in Alibaba Cloud's delivery receipts."},
		In: connector.InBody, Key: "/OutId"}
	extend := connector.Param{Field: nodes.Field{Name: "smsUpExtendCode", Label: "Uplink extension code", Type: nodes.TypeString, Expression: true, Advanced: true,
		Description: "The extension code (SmsUpExtendCode) that routes replies back to you; leave empty unless Alibaba Cloud gave you one."},
		In: connector.InBody, Key: "/SmsUpExtendCode"}

	provider.MustRegister(connector.Operation{Type: "aliyunsms.send", Name: "Alibaba Cloud SMS: send", Category: nodes.CategoryNotifications,
		SideEffect: true, Unrepeatable: true,
		Description: "Sends a templated text message to one or more phone numbers.",
		Method:      http.MethodPost, Path: "/", OutputLabel: "Sent",
		Params: []connector.Param{numbers, signName, template, params, outID, extend},
		Docs: "`SendSms` with `PhoneNumbers`, `SignName`, `TemplateCode`, `TemplateParam` (the variables as JSON text), `OutId` and " +
			"`SmsUpExtendCode`, which go in the signed query string (a test run shows them as an object). Outputs Alibaba Cloud's answer: `Code` (`OK`), `Message`, `BizId` (the send's id, for QuerySendDetails) " +
			"and `RequestId`. Numbers are checked as E.164 before anything is sent. SendSms takes no idempotency key, so a send whose " +
			"outcome is unknown is not sent again."})
}
