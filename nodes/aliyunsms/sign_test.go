package aliyunsms

import (
	"net/url"
	"testing"
)

// TestSignatureVector: the worked example of Alibaba Cloud's V3 signature page (testdata/README.md): a POST of
// RunInstances to ecs.cn-shanghai.aliyuncs.com with ImageId and RegionId in the query, no body, AccessKey secret
// YourAccessKeySecret, x-acs-date 2023-10-26T10:22:32Z, nonce 3156853299f313e23d1673dc12e1703d; the page gives
// the hashed canonical request and the signature.
func TestSignatureVector(t *testing.T) {
	q := url.Values{"RegionId": {"cn-shanghai"}, "ImageId": {"win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"}}
	query := canonicalQuery(q)
	if query != "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai" {
		t.Fatalf("canonical query %s", query)
	}
	h := map[string]string{"host": "ecs.cn-shanghai.aliyuncs.com", "x-acs-action": "RunInstances", "x-acs-version": "2014-05-26",
		"x-acs-date": "2023-10-26T10:22:32Z", "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d", "x-acs-content-sha256": emptyHash}
	sig, names, hashed := signature("YourAccessKeySecret", "POST", "/", query, h, emptyHash)
	if names != "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version" {
		t.Fatalf("signed headers %s", names)
	}
	if hashed != "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259" {
		t.Fatalf("hashed canonical request %s", hashed)
	}
	if sig != "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0" {
		t.Fatalf("signature %s", sig)
	}
	if sha256Hex(nil) != emptyHash {
		t.Fatal("empty hash")
	}
	if got := percentEncode("a b*c~d/é"); got != "a%20b%2Ac~d%2F%C3%A9" {
		t.Fatalf("encoded %s", got)
	}
}
