package vault

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestKeyringOpensWithEveryKeyAndSealsWithTheCurrent(t *testing.T) {
	old, _ := New(key(1))
	id, sealed, err := old.Seal([]byte("sealed long ago"), "cred-1")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := NewKeyring(key(2), key(1), key(2), key(1)) // duplicates are ignored
	if err != nil {
		t.Fatal(err)
	}
	if got := ring.KeyIDs(); len(got) != 2 || got[0] != ring.KeyID() || got[1] != old.KeyID() {
		t.Fatalf("key ids %v", got)
	}
	plain, err := ring.Open(id, sealed, "cred-1")
	if err != nil || string(plain) != "sealed long ago" {
		t.Fatalf("a previous key's ciphertext: %q %v", plain, err)
	}
	newID, resealed, err := ring.Seal(plain, "cred-1")
	if err != nil || newID != ring.KeyID() || newID == id {
		t.Fatalf("sealed under %s (current %s): %v", newID, ring.KeyID(), err)
	}
	// A server that still holds only the old key reports the new key as unknown, never misreads.
	if _, err := old.Open(newID, resealed, "cred-1"); !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), newID) {
		t.Errorf("old server opening the new key's ciphertext: %v", err)
	}
	// A ciphertext that names a held key but does not authenticate under it is told apart from an unknown key.
	resealed[len(resealed)-1] ^= 1
	if _, err := ring.Open(newID, resealed, "cred-1"); !errors.Is(err, ErrUnauthentic) || errors.Is(err, ErrWrongKey) {
		t.Errorf("tampered: %v", err)
	}
	if _, err := ring.Open(id, sealed, "cred-2"); !errors.Is(err, ErrUnauthentic) {
		t.Errorf("moved to another credential: %v", err)
	}
	if _, err := NewKeyring(key(2), []byte("short")); err == nil {
		t.Error("a short previous key was accepted")
	}
}

func TestParseKeys(t *testing.T) {
	a, b := base64.StdEncoding.EncodeToString(key(1)), base64.StdEncoding.EncodeToString(key(2))
	keys, err := ParseKeys(" " + a + " ,, " + b + ",")
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], key(1)) || !bytes.Equal(keys[1], key(2)) {
		t.Fatalf("keys %v: %v", keys, err)
	}
	if keys, err := ParseKeys(""); err != nil || len(keys) != 0 {
		t.Errorf("empty list: %v %v", keys, err)
	}
	if _, err := ParseKeys(a + ",nonsense"); err == nil || !strings.Contains(err.Error(), "key 2") {
		t.Errorf("bad second key: %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	generated, err := Load(KeySource{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); err != nil {
		t.Fatalf("embedded mode generated no key file: %v", err)
	}
	id, sealed, _ := generated.Seal([]byte("x"), "c")

	// Moving to FERRY_SECRET_KEY: the key file is still held as a previous key.
	cur, prev := base64.StdEncoding.EncodeToString(key(3)), base64.StdEncoding.EncodeToString(key(4))
	v, err := Load(KeySource{Current: cur, Previous: prev, DataDir: dir, Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	if ids := v.KeyIDs(); len(ids) != 3 || ids[0] != keyID(key(3)) || ids[1] != keyID(key(4)) || ids[2] != generated.KeyID() {
		t.Errorf("key ids %v", ids)
	}
	if _, err := v.Open(id, sealed, "c"); err != nil {
		t.Errorf("the key file's ciphertext: %v", err)
	}

	if _, err := Load(KeySource{DataDir: t.TempDir(), Shared: true}); err == nil || !strings.Contains(err.Error(), "FERRY_SECRET_KEY is required") {
		t.Errorf("shared store without a key: %v", err)
	}
	if _, err := Load(KeySource{Current: cur, Previous: "nope"}); err == nil || !strings.Contains(err.Error(), PreviousKeysEnv) {
		t.Errorf("bad previous key: %v", err)
	}
	if _, err := Load(KeySource{Current: "nope"}); err == nil || !strings.Contains(err.Error(), "FERRY_SECRET_KEY") {
		t.Errorf("bad current key: %v", err)
	}
}
