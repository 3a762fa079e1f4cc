package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestPasswords(t *testing.T) {
	hash, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hash %q is not an argon2id PHC string", hash)
	}
	if ok, err := CheckPassword(hash, "correct horse battery"); !ok || err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	if ok, _ := CheckPassword(hash, "correct horse batterY"); ok {
		t.Fatal("wrong password accepted")
	}
	again, _ := HashPassword("correct horse battery")
	if again == hash {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if _, err := HashPassword("short"); !errors.Is(err, ErrWeakPassword) {
		t.Fatalf("short password: %v", err)
	}
	if _, err := CheckPassword("$2a$10$bcrypt", "x"); err == nil {
		t.Fatal("a foreign hash format was accepted")
	}
}

func TestRoles(t *testing.T) {
	for _, r := range Roles {
		if !RoleAdmin.Covers(r) {
			t.Errorf("admin does not cover %s", r)
		}
		if !r.Covers(RoleViewer) {
			t.Errorf("%s does not cover viewer", r)
		}
		if !Allowed(r, PermSelf) || !Allowed(r, PermFlowsRead) {
			t.Errorf("%s cannot read flows or manage itself", r)
		}
	}
	for _, c := range []struct{ a, b Role }{{RoleEditor, RoleOperator}, {RoleOperator, RoleEditor}, {RoleViewer, RoleEditor}, {RoleEditor, RoleAdmin}} {
		if c.a.Covers(c.b) {
			t.Errorf("%s covers %s", c.a, c.b)
		}
	}
	if Allowed(RoleEditor, PermCredentialsWrite) || Allowed(RoleOperator, PermFlowsWrite) || Allowed(RoleViewer, PermRunsOperate) {
		t.Error("a role holds more than the table says")
	}
	if Role("root").Valid() || Allowed("root", PermFlowsRead) {
		t.Error("an unknown role is valid")
	}
}
