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

// ErrWrongKey means a ciphertext was sealed under a key this vault does not hold: its key id matches neither the
// current key nor any previous key.
var ErrWrongKey = errors.New("vault: sealed under a secret key that is not configured")

// ErrUnauthentic means a ciphertext names a key this vault holds but does not authenticate under it: the data
// was altered, moved to another credential, or sealed by a different key that happens to share the id.
var ErrUnauthentic = errors.New("vault: the ciphertext does not authenticate under its key")

// PreviousKeysEnv is the environment variable listing keys that are no longer current but may still have sealed
// credentials, comma-separated, so a key can be rotated while the fleet keeps running.
const PreviousKeysEnv = "FERRY_SECRET_KEY_PREVIOUS"

// Vault seals and opens secrets. It holds a keyring: the current key, which seals, and any previous keys, which
// only open what they sealed before a rotation.
type Vault struct {
	current *sealer
	keys    map[string]*sealer
	ids     []string // current first, then previous keys in the order given
}

type sealer struct {
	id   string
	aead cipher.AEAD
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

// New returns a vault sealing under key and holding no previous key.
func New(key []byte) (*Vault, error) { return NewKeyring(key) }

// NewKeyring returns a vault that seals under current and opens what current or any of previous sealed. During
// a rotation every process holds both keys, so a credential sealed under either opens everywhere.
func NewKeyring(current []byte, previous ...[]byte) (*Vault, error) {
	cur, err := newSealer(current)
	if err != nil {
		return nil, err
	}
	v := &Vault{current: cur, keys: map[string]*sealer{cur.id: cur}, ids: []string{cur.id}}
	for i, k := range previous {
		s, err := newSealer(k)
		if err != nil {
			return nil, fmt.Errorf("previous key %d: %w", i+1, err)
		}
		if _, dup := v.keys[s.id]; dup {
			continue // the same key listed twice, or the current key listed as previous too
		}
		v.keys[s.id] = s
		v.ids = append(v.ids, s.id)
	}
	return v, nil
}

func newSealer(key []byte) (*sealer, error) {
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
	return &sealer{id: keyID(key), aead: aead}, nil
}

// keyID names a key by a hash of it, so logs and rows can say which key sealed what without revealing it.
func keyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("ferry-key-id:"), key...))
	return hex.EncodeToString(sum[:4])
}

// KeyID identifies the current key without revealing it.
func (v *Vault) KeyID() string { return v.current.id }

// KeyIDs lists the id of every key the vault holds, the current one first.
func (v *Vault) KeyIDs() []string { return append([]string(nil), v.ids...) }

// Seal encrypts plaintext under the current key, binding it to context (a credential id) so a ciphertext cannot
// be moved to another row. The result is nonce || ciphertext.
func (v *Vault) Seal(plaintext []byte, context string) (keyID string, sealed []byte, err error) {
	s := v.current
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("vault: nonce: %w", err)
	}
	return s.id, s.aead.Seal(nonce, nonce, plaintext, []byte(context)), nil
}

// Open decrypts what Seal produced under the same context, with whichever held key keyID names.
func (v *Vault) Open(keyID string, sealed []byte, context string) ([]byte, error) {
	s, ok := v.keys[keyID]
	if !ok {
		return nil, fmt.Errorf("%w (sealed under key %s; this server holds %s)", ErrWrongKey, keyID, strings.Join(v.ids, ", "))
	}
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, fmt.Errorf("%w (key %s): too short", ErrUnauthentic, keyID)
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(context))
	if err != nil {
		return nil, fmt.Errorf("%w (key %s): altered or moved data, or a different key with the same id", ErrUnauthentic, keyID)
	}
	return out, nil
}

// ParseKeys reads a comma-separated list of keys, each as ParseKey accepts (FERRY_SECRET_KEY_PREVIOUS). Blank
// entries are skipped, so an empty text is no keys.
func ParseKeys(text string) ([][]byte, error) {
	var out [][]byte
	for i, part := range strings.Split(text, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, err := ParseKey(part)
		if err != nil {
			return nil, fmt.Errorf("key %d of the list: %w", i+1, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// KeySource says where a process finds its keys; Load turns it into a vault. The server and the key commands
// read keys the same way through it.
type KeySource struct {
	// Current is the current key as text (FERRY_SECRET_KEY). Empty means the key generated into DataDir.
	Current string
	// Previous lists keys that may still have sealed credentials, comma-separated (FERRY_SECRET_KEY_PREVIOUS).
	Previous string
	// DataDir holds the generated key in embedded mode.
	DataDir string
	// Shared means several processes use one store (a database URL is set): each must be given the same current
	// key, since keys generated by each would differ.
	Shared bool
}

// Load builds the keyring a KeySource names. When Current is set and a key file from embedded mode is still in
// DataDir, that key is held as a previous key too, so moving from the generated key to FERRY_SECRET_KEY needs
// no other step than `ferry keys rotate`.
func Load(src KeySource) (*Vault, error) {
	previous, err := ParseKeys(src.Previous)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", PreviousKeysEnv, err)
	}
	if src.Current == "" {
		if src.Shared {
			return nil, errors.New("FERRY_SECRET_KEY is required with FERRY_DATABASE_URL, so every process decrypts the same credentials (generate one with: openssl rand -base64 32)")
		}
		k, err := LoadOrCreateKey(src.DataDir)
		if err != nil {
			return nil, err
		}
		return NewKeyring(k, previous...)
	}
	current, err := ParseKey(src.Current)
	if err != nil {
		return nil, fmt.Errorf("FERRY_SECRET_KEY: %w", err)
	}
	if src.DataDir != "" {
		if b, err := os.ReadFile(filepath.Join(src.DataDir, KeyFile)); err == nil {
			if k, err := ParseKey(string(b)); err == nil {
				previous = append(previous, k)
			}
		}
	}
	return NewKeyring(current, previous...)
}
