package tencentsms

import "testing"

// TestSignatureVector: Tencent Cloud's worked example of signature v3 (testdata/README.md): DescribeInstances on
// cvm.tencentcloudapi.com, SecretKey Gu5t9xGARNpq86cd98joQYCN3EXAMPLE, timestamp 1551113065, its JSON body;
// the page gives the canonical request's hash and the signature.
func TestSignatureVector(t *testing.T) {
	body := `{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`
	canonical := canonicalRequest("application/json; charset=utf-8", "cvm.tencentcloudapi.com", []byte(body))
	if h := sha256Hex([]byte(body)); h != "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064" {
		t.Fatalf("payload hash %s", h)
	}
	if h := sha256Hex([]byte(canonical)); h != "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031" {
		t.Fatalf("canonical request hash %s of\n%s", h, canonical)
	}
	sig, scope := signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm", 1551113065, canonical)
	if scope != "2019-02-25/cvm/tc3_request" || sig != "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168" {
		t.Fatalf("scope %s signature %s", scope, sig)
	}
	want := "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
	if got := authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", scope, sig); got != want {
		t.Fatalf("authorization %s", got)
	}
}
