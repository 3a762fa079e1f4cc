// Package vault encrypts credential secrets at rest with AES-256-GCM under Ferry's secret key. Each ciphertext
// records the id of the key that sealed it, so keys can be rotated and a wrong key is reported, not silently
// misread. In embedded mode the key is generated into the data directory on first start; in distributed mode
// it comes from FERRY_SECRET_KEY so every process shares it.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the name of the generated key in the data directory.
const KeyFile = "secret.key"

// ErrWrongKey means a ciphertext was sealed under a key this vault does not hold.
var ErrWrongKey = errors.New("vault: sealed under a different secret key")

// Vault seals and opens secrets.
type Vault struct {
	keyID string
	aead  cipher.AEAD
}

// ParseKey reads a 32-byte key given as base64 (standard or URL) or hex text.
func ParseKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	for _, dec := range []func(string) ([]byte, error){
		base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString, hex.DecodeString,
	} {
		if k, err := dec(text); err == nil && len(k) == 32 {
			return k, nil
		}
	}
	return nil, errors.New("vault: the secret key must be 32 bytes written as base64 or hex (generate one with: openssl rand -base64 32)")
}

// LoadOrCreateKey reads the key file in dataDir, creating it with a fresh random key (mode 0600) on first start.
func LoadOrCreateKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, KeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("vault: read %s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("vault: read key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("vault: create data directory: %w", err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("vault: generate key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateKey(dataDir) // another process created it first
	}
	if err != nil {
		return nil, fmt.Errorf("vault: create key file: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("vault: write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("vault: write key file: %w", err)
	}
	return k, nil
}

// New returns a vault sealing under key.
func New(key []byte) (*Vault, error) {
	if len(key) != 32 {
		return nil, errors.New("vault: key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	sum := sha256.Sum256(append([]byte("ferry-key-id:"), key...))
	return &Vault{keyID: hex.EncodeToString(sum[:4]), aead: aead}, nil
}

// KeyID identifies the key without revealing it.
func (v *Vault) KeyID() string { return v.keyID }

// Seal encrypts plaintext, binding it to context (a credential id) so a ciphertext cannot be moved to another
// row. The result is nonce || ciphertext.
func (v *Vault) Seal(plaintext []byte, context string) (keyID string, sealed []byte, err error) {
	nonce := make([]byte, v.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("vault: nonce: %w", err)
	}
	return v.keyID, v.aead.Seal(nonce, nonce, plaintext, []byte(context)), nil
}

// Open decrypts what Seal produced under the same key and context.
func (v *Vault) Open(keyID string, sealed []byte, context string) ([]byte, error) {
	if keyID != v.keyID {
		return nil, fmt.Errorf("%w (key %s, this server holds %s)", ErrWrongKey, keyID, v.keyID)
	}
	n := v.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("vault: ciphertext too short")
	}
	out, err := v.aead.Open(nil, sealed[:n], sealed[n:], []byte(context))
	if err != nil {
		return nil, fmt.Errorf("vault: open: %w", err)
	}
	return out, nil
}
