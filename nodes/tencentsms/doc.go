// Package tencentsms sends text messages through Tencent Cloud SMS (腾讯云短信) API 3.0, version 2021-01-11:
// SendSms with a template and its parameters to up to 200 numbers, written as data on the connector runtime,
// requests signed with TC3-HMAC-SHA256, and the tencentsms.api credential with its connection test.
//
// Tencent Cloud answers every call with status 200 and either Response.Error or, for SendSms, one
// SendStatusSet entry per number; the pages each rule comes from are listed in testdata/README.md.
package tencentsms

// Provider is the prefix of failure codes (tencentsms_rate_limited).
const Provider = "tencentsms"

// APIVersion is the SMS API version every request names (X-TC-Version).
const APIVersion = "2021-01-11"
