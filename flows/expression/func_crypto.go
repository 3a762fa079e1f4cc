package expression

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// Hashes and MACs exist for the signatures payment providers and CRMs ask for: WeChat Pay v2 signs with
// MD5 or HMAC-SHA256 (upper(...) gives its uppercase hex), many webhooks with HMAC-SHA256 in hex or base64.
// Digests are printed in lowercase hex. MD5 and SHA-1 are offered only because such APIs still require them.

// bytesArg reads text to hash or encode; only text is accepted, since hashing the printed form of a number
// would silently depend on how it was printed.
func bytesArg(fn string, i int, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return []byte(x), nil
	case []byte:
		return x, nil
	}
	return nil, errArg(fn, i, "must be text, got %s (convert it with toString first)", describe(v))
}

// encodings accepted by the hmac functions for their result.
const (
	encHex       = "hex"
	encBase64    = "base64"
	encBase64URL = "base64url"
)

func checkEncoding(enc string) error {
	switch enc {
	case encHex, encBase64, encBase64URL:
		return nil
	}
	return fmt.Errorf("unknown encoding %q (want \"hex\", \"base64\" or \"base64url\")", enc)
}

func encode(sum []byte, enc string) string {
	switch enc {
	case encBase64:
		return base64.StdEncoding.EncodeToString(sum)
	case encBase64URL:
		return base64.RawURLEncoding.EncodeToString(sum)
	}
	return hex.EncodeToString(sum)
}

func registerDigest(name, algorithm, example, output string, newHash func() hash.Hash) {
	register(FunctionDoc{
		Name: name, Category: CategoryCrypto,
		Signature:   name + "(text) string",
		Description: "Returns the " + algorithm + " digest of the text's UTF-8 bytes in lowercase hex.",
		Example:     example,
		Output:      output,
	}, func(params ...any) (any, error) {
		if err := arity(name, params, 1, 1); err != nil {
			return nil, err
		}
		b, err := bytesArg(name, 0, params[0])
		if err != nil {
			return nil, err
		}
		h := newHash()
		h.Write(b)
		return hex.EncodeToString(h.Sum(nil)), nil
	}, new(func(string) string))
}

func registerHMAC(name, algorithm, example, output string, newHash func() hash.Hash) {
	checkConstant(name, 2, checkEncoding)
	register(FunctionDoc{
		Name: name, Category: CategoryCrypto,
		Signature:   name + "(key, message[, encoding]) string",
		Description: "Returns the HMAC-" + algorithm + " of message under key, encoded as \"hex\" (the default, lowercase), \"base64\" or \"base64url\" (unpadded).",
		Example:     example,
		Output:      output,
	}, func(params ...any) (any, error) {
		if err := arity(name, params, 2, 3); err != nil {
			return nil, err
		}
		key, err := bytesArg(name, 0, params[0])
		if err != nil {
			return nil, err
		}
		msg, err := bytesArg(name, 1, params[1])
		if err != nil {
			return nil, err
		}
		enc := encHex
		if len(params) == 3 {
			if enc, err = argString(name, 2, params[2]); err != nil {
				return nil, err
			}
			if err := checkEncoding(enc); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		mac := hmac.New(newHash, key)
		mac.Write(msg)
		return encode(mac.Sum(nil), enc), nil
	},
		new(func(string, string, ...string) string),
	)
}

func registerCodec(doc FunctionDoc, convert func(string) (string, error)) {
	name := doc.Name
	doc.Category = CategoryCrypto
	doc.Signature = name + "(text) string"
	register(doc, func(params ...any) (any, error) {
		if err := arity(name, params, 1, 1); err != nil {
			return nil, err
		}
		b, err := bytesArg(name, 0, params[0])
		if err != nil {
			return nil, err
		}
		out, err := convert(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return out, nil
	}, new(func(string) string))
}

func init() {
	registerDigest("md5", "MD5", `md5("hello")`, "5d41402abc4b2a76b9719d911017c592", md5.New)
	registerDigest("sha1", "SHA-1", `sha1("hello")`, "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d", sha1.New)
	registerDigest("sha256", "SHA-256", `sha256("hello")`, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", sha256.New)
	registerDigest("sha512", "SHA-512", `sha512("hello")`, "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043", sha512.New)

	registerHMAC("hmacSha1", "SHA1", `hmacSha1("key", "The quick brown fox jumps over the lazy dog")`,
		"de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9", sha1.New)
	registerHMAC("hmacSha256", "SHA256", `hmacSha256("key", "The quick brown fox jumps over the lazy dog")`,
		"f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8", sha256.New)
	registerHMAC("hmacSha512", "SHA512", `hmacSha512("key", "The quick brown fox jumps over the lazy dog", "base64")`,
		"tCrwkFe6weLUFwjkipAuCbX/fxKrQopP6GZTxz3SSPuC+UilSfe3kaW0GRXuTR7Dk1NX5OIxclDQNyr6Lr7rOg==", sha512.New)

	registerCodec(FunctionDoc{
		Name:        "base64Url",
		Description: "Encodes text as unpadded URL-safe base64 (RFC 4648 §5, as in JWTs); toBase64 is the standard, padded alphabet.",
		Example:     `base64Url("subjects?_d")`,
		Output:      "c3ViamVjdHM_X2Q",
	}, func(s string) (string, error) { return base64.RawURLEncoding.EncodeToString([]byte(s)), nil })

	registerCodec(FunctionDoc{
		Name:        "fromBase64Url",
		Description: "Decodes URL-safe base64, with or without = padding, back to text; fromBase64 decodes the standard alphabet.",
		Example:     `fromBase64Url("c3ViamVjdHM_X2Q")`,
		Output:      "subjects?_d",
	}, func(s string) (string, error) {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return "", fmt.Errorf("invalid URL-safe base64: %w", err)
		}
		return string(b), nil
	})

	registerCodec(FunctionDoc{
		Name:        "hex",
		Description: "Encodes the text's UTF-8 bytes as lowercase hexadecimal.",
		Example:     `hex("Ferry")`,
		Output:      "4665727279",
	}, func(s string) (string, error) { return hex.EncodeToString([]byte(s)), nil })

	registerCodec(FunctionDoc{
		Name:        "fromHex",
		Description: "Decodes hexadecimal (either case) back to text.",
		Example:     `fromHex("4665727279")`,
		Output:      "Ferry",
	}, func(s string) (string, error) {
		b, err := hex.DecodeString(s)
		if err != nil {
			return "", fmt.Errorf("invalid hex: %w", err)
		}
		return string(b), nil
	})
}
