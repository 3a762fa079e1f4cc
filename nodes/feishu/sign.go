package feishu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// Sign is a custom bot's signature for a timestamp (Unix seconds): as Feishu's guide specifies, the text
// timestamp + "\n" + secret is the HMAC-SHA256 key, the message signed is empty, and the digest is sent in
// base64. Feishu accepts it for an hour from the timestamp.
func Sign(timestamp int64, secret string) string {
	mac := hmac.New(sha256.New, []byte(strconv.FormatInt(timestamp, 10)+"\n"+secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
