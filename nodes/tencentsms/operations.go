package tencentsms

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// templateID is the shape of a template's id (digits, such as 449739).
var templateID = regexp.MustCompile(`^[0-9]{1,12}$`)

func checkTemplateID(v any) (any, error) {
	s := strings.TrimSpace(fmt.Sprint(v))
	if !templateID.MatchString(s) {
		return nil, fmt.Errorf("%q is not a template id (digits, such as 449739)", s)
	}
	return s, nil
}

// checkTemplateParams writes the template's values as TemplateParamSet takes them: a list of texts in the order
// of the template's {1}, {2}…; a list may be given as it is or as its JSON text, numbers become text.
func checkTemplateParams(v any) (any, error) {
	if s, ok := v.(string); ok {
		parsed, err := nodes.DecodeJSON([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("the template parameters are not a JSON list ([\"1234\", \"5\"]): %v", err)
		}
		v = parsed
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("the template parameters are not a list of the template's values in order ([\"1234\", \"5\"])")
	}
	out := make([]any, 0, len(list))
	for i, item := range list {
		switch item.(type) {
		case map[string]any, []any, nil:
			return nil, fmt.Errorf("template parameter %d is not a text or a number", i+1)
		}
		out = append(out, expression.Stringify(item))
	}
	return out, nil
}

func init() {
	numbers := connector.Param{Field: nodes.Field{Name: "phoneNumbers", Label: "Phone numbers", Type: nodes.TypeString, Expression: true, Required: true,
		Description: "Up to 200 numbers in E.164 form (+8613711112222), separated by commas, or a list. Each is validated before sending.",
		Examples:    []nodes.Example{{Name: "From the trigger", Value: "{{ trigger.body.customer.phone }}"}}},
		In: connector.InBody, Key: "/PhoneNumberSet", As: connector.AsList, Transform: checkNumbers}
	template := connector.Param{Field: nodes.Field{Name: "templateId", Label: "Template ID", Type: nodes.TypeString, Expression: true, Required: true,
		Description: "The approved template's id (模板 ID), such as 449739."},
		In: connector.InBody, Key: "/TemplateId", Transform: checkTemplateID}
	signName := connector.Param{Field: nodes.Field{Name: "signName", Label: "Sign name", Type: nodes.TypeString, Expression: true,
		Description: "The approved signature's content (签名内容), such as 腾讯云; required for Chinese mainland messages, empty for international ones."},
		In: connector.InBody, Key: "/SignName"}
	params := connector.Param{Field: nodes.Field{Name: "templateParams", Label: "Template parameters", Type: nodes.TypeJSON, Expression: true,
		Description: "The template's values as a list, in the order of its {1}, {2}…: [\"1234\", \"5\"]. Empty for a template without variables.",
		Examples:    []nodes.Example{{Name: "Failed payment", Value: `{{ [trigger.body.orderId, trigger.body.amount] }}`}}},
		In: connector.InBody, Key: "/TemplateParamSet", Transform: checkTemplateParams}
	session := connector.Param{Field: nodes.Field{Name: "sessionContext", Label: "Session context", Type: nodes.TypeString, Expression: true, Advanced: true,
		Description: "Your own context of the send (SessionContext), returned unchanged in the answer and in delivery receipts."},
		In: connector.InBody, Key: "/SessionContext"}
	extend := connector.Param{Field: nodes.Field{Name: "extendCode", Label: "Extension code", Type: nodes.TypeString, Expression: true, Advanced: true,
		Description: "The SMS code extension (ExtendCode); leave empty unless Tencent Cloud enabled one for you."},
		In: connector.InBody, Key: "/ExtendCode"}
	sender := connector.Param{Field: nodes.Field{Name: "senderId", Label: "Sender ID", Type: nodes.TypeString, Expression: true, Advanced: true,
		Description: "The Sender ID of international messages (SenderId), when Tencent Cloud enabled one; empty for Chinese mainland messages."},
		In: connector.InBody, Key: "/SenderId"}

	provider.MustRegister(connector.Operation{Type: "tencentsms.send", Name: "Tencent Cloud SMS: send", Category: nodes.CategoryNotifications,
		SideEffect: true, Unrepeatable: true,
		Description: "Sends a templated text message to one or more phone numbers.",
		Method:      http.MethodPost, Path: "/", OutputLabel: "Sent", Result: "/Response",
		Params: []connector.Param{numbers, template, signName, params, session, extend, sender},
		Docs: "`SendSms` with `PhoneNumberSet`, `TemplateId`, `SignName`, `TemplateParamSet`, `SessionContext`, `ExtendCode`, " +
			"`SenderId` and the credential's `SmsSdkAppId`. Outputs Tencent Cloud's `Response`: `SendStatusSet`, one entry per " +
			"number (`PhoneNumber`, `Code` (`Ok` when taken), `Message`, `SerialNo`, `Fee`), `RequestId`, and Ferry's counts " +
			"`sent` and `failed`. A send with several numbers succeeds when at least one number was taken, the others listed " +
			"with their codes (sending again would repeat the message to the numbers taken); it fails only when none was: " +
			"with `" + CodeRateLimited + "` when every number hit its limit (`LimitExceeded.PhoneNumberThirtySecondLimit` 30 s, " +
			"`…OneHourLimit` an hour, `…DailyLimit` until midnight China time), with `" + CodeNumberInvalid + "` when every " +
			"number was refused as incorrect, with `tencentsms_outcome_unknown` when a number's status is an internal error, " +
			"else with `" + CodeRejected + "`. Numbers are checked as E.164 before anything " +
			"is sent. SendSms takes no idempotency key, so a send whose outcome is unknown is not sent again."})
}
