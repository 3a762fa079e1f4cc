package expression

import (
	"strings"
	"testing"
)

func TestHashFunctions(t *testing.T) {
	const fox = "The quick brown fox jumps over the lazy dog"
	runEvalCases(t, []evalCase{
		// Published test vectors.
		{src: `md5("")`, want: "d41d8cd98f00b204e9800998ecf8427e"},
		{src: `md5(trigger.body)`, body: fox, want: "9e107d9d372bb6826bd81d3542a419d6"},
		{src: `sha1("abc")`, want: "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{src: `sha256("abc")`, want: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{src: `sha512("abc")`, want: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
		{src: `sha256("订单")`, want: "3d5436ea23d2e9a23eceecf41eaf15de80b51c12c649a07064e02373d2edf61a"},
		{src: `hmacSha256("key", trigger.body)`, body: fox, want: "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"},
		{src: `hmacSha256("key", trigger.body, "hex")`, body: fox, want: "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"},
		{src: `hmacSha256("key", trigger.body, "base64")`, body: fox, want: "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="},
		{src: `hmacSha256("key", trigger.body, "base64url")`, body: fox, want: "97yD9DBThCSxMpjmqm-xQ-9NWaFJRhdZl0edvC0aPNg"},
		{src: `hmacSha1("key", trigger.body)`, body: fox, want: "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"},
		{src: `hmacSha512("key", trigger.body)`, body: fox, want: "b42af09057bac1e2d41708e48a902e09b5ff7f12ab428a4fe86653c73dd248fb82f948a549f7b791a5b41915ee4d1ec3935357e4e2317250d0372afa2ebeeb3a"},
		{src: `hmacSha256("", "")`, want: "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"},
		// A WeChat Pay v2 style signature: upper-case hex of HMAC-SHA256 over the sorted query string (expected
		// values here and for sha256("订单") computed independently with openssl dgst and sha256sum).
		{src: `upper(hmacSha256("192006250b4c09247ec02edce69f6a2d", "appid=wxd930ea5d5a258f4f&body=test&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA&key=192006250b4c09247ec02edce69f6a2d"))`,
			want: "B8F8CF02C8F8ED7AA3E829CDFB1C57AD5F0EF73408F726F48297962CE491B555"},
		// Errors.
		{src: `md5(trigger.body)`, body: 42.0, err: "md5: argument 1 must be text, got a number (convert it with toString first)"},
		{src: `sha256(trigger.body)`, body: nil, err: "sha256: argument 1 must be text, got null"},
		{src: `hmacSha256(trigger.body, "m")`, body: nil, err: "hmacSha256: argument 1 must be text, got null"},
		{src: `hmacSha256("k", trigger.body)`, body: map[string]any{}, err: "hmacSha256: argument 2 must be text, got an object"},
		{src: `hmacSha256("k", "m", trigger.body)`, body: "HEX", err: `hmacSha256: unknown encoding "HEX"`},
	})
}

func TestHashOfBytes(t *testing.T) {
	got, err := call(t, "sha1", []byte("abc"))
	if err != nil || got != "a9993e364706816aba3e25717850c26c9cd0d89d" {
		t.Fatalf("sha1(bytes) = %v, %v", got, err)
	}
}

func TestEncodingFunctions(t *testing.T) {
	runEvalCases(t, []evalCase{
		{src: `base64Url("subjects?_d")`, want: "c3ViamVjdHM_X2Q"},
		{src: `base64Url("")`, want: ""},
		{src: `fromBase64Url("c3ViamVjdHM_X2Q")`, want: "subjects?_d"},
		{src: `fromBase64Url("YQ==")`, want: "a"}, // padding is optional
		{src: `fromBase64Url(base64Url("支付宝 ✓"))`, want: "支付宝 ✓"},
		{src: `toBase64("subjects?_d")`, want: "c3ViamVjdHM/X2Q="}, // expr's standard alphabet, for comparison
		{src: `fromBase64Url(trigger.body)`, body: "not base64!", err: "fromBase64Url: invalid URL-safe base64"},
		{src: `fromBase64Url(trigger.body)`, body: "c3ViamVjdHM/X2Q", err: "fromBase64Url: invalid URL-safe base64"},
		{src: `hex("Ferry")`, want: "4665727279"},
		{src: `fromHex("4665727279")`, want: "Ferry"},
		{src: `fromHex("46657272" + "79")`, want: "Ferry"},
		{src: `fromHex("4A4b")`, want: "JK"},
		{src: `fromHex(trigger.body)`, body: "xyz", err: "fromHex: invalid hex"},
		{src: `hex(trigger.body)`, body: 1.0, err: "hex: argument 1 must be text, got a number"},
	})
	long := strings.Repeat("x", 1000)
	got, err := call(t, "fromBase64Url", mustCall(t, "base64Url", long))
	if err != nil || got != long {
		t.Fatal("base64Url does not round-trip long text")
	}
}

func mustCall(t *testing.T, name string, params ...any) any {
	t.Helper()
	v, err := call(t, name, params...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
