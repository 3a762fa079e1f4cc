package dingtalk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// Sign is the signature of a custom robot's request in the 加签 mode, as DingTalk documents it: the string
// timestamp + "\n" + secret (the timestamp in milliseconds, UTF-8) signed with HMAC-SHA256 keyed by the secret,
// then base64. The request carries it URL-encoded in the sign query parameter beside timestamp; DingTalk refuses
// a timestamp more than an hour from its own clock.
func Sign(timestampMillis int64, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestampMillis, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
