package alipay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ferry-hq/ferry/nodes"
)

// testCredential is "Test connection": it asks alipay.trade.query for an order number nobody used. Alipay can
// only answer "trade does not exist" (40004 ACQ.TRADE_NOT_EXIST) after accepting the app id and the request's
// signature, and its signed answer checks the Alipay public key, so that refusal proves the keys work.
func testCredential(ctx context.Context, fields map[string]string, client *http.Client) (string, error) {
	acc, err := loadAccount(fields, true)
	if err != nil {
		return "", err
	}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	r := request{method: "alipay.trade.query", biz: map[string]any{"out_trade_no": "ferry_check_" + hex.EncodeToString(nonce[:])}}
	host := acc.gateway
	if u, err := url.Parse(acc.gateway); err == nil {
		host = u.Host
	}
	a, err := caller{http: client}.do(ctx, acc, r)
	if err == nil {
		return fmt.Sprintf("%s answered alipay.trade.query for app %s with a signed success: the app id and both keys work", host, acc.appID), nil
	}
	e := nodes.Classify(err)
	sub := a.text("sub_code")
	switch {
	case e.Code == CodeBusinessError && (sub == "ACQ.TRADE_NOT_EXIST" || sub == "aop.ACQ.TRADE_NOT_EXIST"):
		if !a.signed {
			return fmt.Sprintf("%s accepted app %s and the request signature (alipay.trade.query answered %s for a made-up order); "+
				"the answer was not signed, so the Alipay public key was not checked", host, acc.appID, sub), nil
		}
		return fmt.Sprintf("%s accepted app %s and the request signature (alipay.trade.query answered %s for a made-up order), "+
			"and its answer verifies with the Alipay public key", host, acc.appID, sub), nil
	case e.Code == CodeResponseSignature:
		return "", fmt.Errorf("%s accepted the request, but its answer does not verify with the Alipay public key: "+
			"paste the Alipay public key (支付宝公钥) of this app, not the app's own public key", host)
	case e.Code == CodeCertSNMismatch:
		return "", errors.New(err.Error())
	case sub == "isv.invalid-signature":
		return "", fmt.Errorf("%s refused the request signature: the app private key does not match the public key "+
			"set for app %s on the open platform", host, acc.appID)
	case sub == "isv.invalid-app-id":
		return "", fmt.Errorf("%s does not know app %s; sandbox apps work only with the sandbox environment, and "+
			"production apps only in production", host, acc.appID)
	case sub == "isv.app-unbind-partner" || sub == "isv.insufficient-isv-permissions" || e.Code == CodePermissionDenied:
		return "", fmt.Errorf("%s accepted the keys of app %s but the app may not call alipay.trade.query: %s", host, acc.appID, err)
	}
	return "", fmt.Errorf("alipay.trade.query at %s failed: %w", host, err)
}
