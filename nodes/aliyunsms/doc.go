// Package aliyunsms sends text messages through Alibaba Cloud SMS (阿里云短信服务), API version 2017-05-25:
// SendSms with a sign name, a template and its parameters to up to 1,000 numbers, written as data on the
// connector runtime, requests signed with ACS3-HMAC-SHA256 (Alibaba Cloud's V3 signature), and the
// aliyunsms.api credential with its connection test (QuerySmsSignList).
//
// The pages each rule comes from, and the signature's test vector, are listed in testdata/README.md.
package aliyunsms

// Provider is the prefix of failure codes (aliyunsms_rate_limited).
const Provider = "aliyunsms"

// APIVersion is the SMS API version every request names (x-acs-version).
const APIVersion = "2017-05-25"
