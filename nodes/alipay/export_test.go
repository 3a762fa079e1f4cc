package alipay

import (
	"testing"
	"time"
)

// SignedTestNotification gives the external tests a credential and a notification signed for it.
func SignedTestNotification(t *testing.T) (map[string]string, string) {
	testKeys(t)
	return testFields(t, ""), signNotify(t, alipayKey, notification(time.Now()))
}
