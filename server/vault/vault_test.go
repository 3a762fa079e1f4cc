package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	v, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	id, sealed, err := v.Seal([]byte("api-secret"), "cred-1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("api-secret")) {
		t.Fatal("ciphertext contains the secret")
	}
	plain, err := v.Open(id, sealed, "cred-1")
	if err != nil || string(plain) != "api-secret" {
		t.Fatalf("open: %q %v", plain, err)
	}
	if _, err := v.Open(id, sealed, "cred-2"); err == nil {
		t.Error("a ciphertext moved to another credential opened")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := v.Open(id, sealed, "cred-1"); err == nil {
		t.Error("a tampered ciphertext opened")
	}
	other, _ := New(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(id, sealed, "cred-1"); !errors.Is(err, ErrWrongKey) {
		t.Errorf("wrong key: %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", info.Mode().Perm())
	}
	k2, err := LoadOrCreateKey(dir)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second start read a different key: %v", err)
	}
	if _, err := ParseKey("too-short"); err == nil {
		t.Error("short key accepted")
	}
	if k, err := ParseKey("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="); err != nil || len(k) != 32 {
		t.Errorf("base64 key: %v", err)
	}
}
