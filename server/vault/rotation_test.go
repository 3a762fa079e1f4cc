package vault_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-hq/ferry/internal/testenv"
	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/store/storetest"
	"github.com/ferry-hq/ferry/server/vault"
)

// eachStore runs body against SQLite and Postgres (skipped without FERRY_TEST_DATABASE_URL, failed so in CI).
func eachStore(t *testing.T, body func(t *testing.T, st store.Store)) {
	for _, backend := range storetest.Backends(t) {
		t.Run("", func(t *testing.T) {
			b := backend(t)
			t.Run(b.Name, func(t *testing.T) {
				st, err := store.Open(context.Background(), b.URL, b.DataDir)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				body(t, st)
			})
		})
	}
}

func keyring(t *testing.T, current byte, previous ...byte) *vault.Vault {
	t.Helper()
	var prev [][]byte
	for _, p := range previous {
		prev = append(prev, bytes.Repeat([]byte{p}, 32))
	}
	v, err := vault.NewKeyring(bytes.Repeat([]byte{current}, 32), prev...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRotationWithRunsInFlight rotates the key the way the keys command documents it, while runs resolve
// credentials on servers of both steps of the roll-out and an admin keeps replacing one credential: no resolve
// fails or sees a wrong value, no replacement is lost, and afterwards the old key can go.
func TestRotationWithRunsInFlight(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		const n = 150
		original := &vault.Credentials{Store: st, Vault: keyring(t, 1)}
		ids := make([]string, n)
		for i := range ids {
			info, err := original.Create(ctx, fmt.Sprintf("cred %02d", i), "http.bearer",
				vault.Secrets{Destinations: []string{"https://api.example.com"}, Live: map[string]string{"token": fmt.Sprintf("token-%d", i)}})
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = info.ID
		}
		// Step 1 servers know the new key as a previous one; step 2 servers seal with it. Both run at once while
		// the roll-out proceeds, and rotation runs with the step 2 keys.
		step1 := &vault.Credentials{Store: st, Vault: keyring(t, 1, 2)}
		step2 := &vault.Credentials{Store: st, Vault: keyring(t, 2, 1)}

		stop := make(chan struct{})
		var wg sync.WaitGroup
		var resolves, during, failures atomic.Int64
		var rotating atomic.Bool
		var firstFailure atomic.Value
		var lastReplaced atomic.Int64
		for g := range 16 {
			server := step1
			if g%2 == 1 {
				server = step2
			}
			wg.Go(func() {
				for i := g; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					k := 1 + i%(n-1) // credential 0 is the one being replaced
					got, err := server.Resolve(ctx, ids[k], nodes.ModeLive)
					resolves.Add(1)
					if rotating.Load() {
						during.Add(1)
					}
					if err != nil || got.Fields["token"] != fmt.Sprintf("token-%d", k) {
						failures.Add(1)
						firstFailure.CompareAndSwap(nil, fmt.Sprintf("credential %d: %v %v", k, got, err))
					}
				}
			})
		}
		wg.Go(func() {
			for i := 1; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := step2.Replace(ctx, ids[0], "", vault.Secrets{Live: map[string]string{"token": fmt.Sprintf("replaced-%d", i)}}); err != nil {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, "replace: "+err.Error())
					return
				}
				lastReplaced.Store(int64(i))
			}
		})

		// Resolves and replacements are under way before the rotation starts, and go on after it ends.
		testenv.WaitFor(t, "resolves and replacements to start", 10*time.Second, func() bool { return resolves.Load() > 0 && lastReplaced.Load() > 0 })
		rotating.Store(true)
		rep, err := step2.Rotate(ctx)
		rotating.Store(false)
		afterResolves, afterReplaced := resolves.Load(), lastReplaced.Load()
		testenv.WaitFor(t, "resolves and replacements after the rotation", 10*time.Second, func() bool {
			return resolves.Load() > afterResolves && lastReplaced.Load() > afterReplaced
		})
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if failures.Load() > 0 {
			t.Fatalf("%d of %d resolves or replacements failed during rotation; first: %v", failures.Load(), resolves.Load(), firstFailure.Load())
		}
		if rep.Resealed+rep.Current != n || rep.Resealed < n-1 || len(rep.Unreadable) != 0 || rep.KeyID != step2.Vault.KeyID() {
			t.Errorf("report %+v", rep)
		}
		if during.Load() == 0 {
			t.Error("no resolve ran while the rotation did")
		}
		t.Logf("%d resolves, %d of them while rotating; %d replacements; %+v", resolves.Load(), during.Load(), lastReplaced.Load(), rep)

		rows, err := st.ListCredentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.KeyID != step2.Vault.KeyID() {
				t.Errorf("credential %s still sealed under %s", r.Name, r.KeyID)
			}
		}
		// The old key can go: a server holding the new key alone opens everything, and the last replacement won.
		final := &vault.Credentials{Store: st, Vault: keyring(t, 2)}
		if err := final.Check(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := final.Resolve(ctx, ids[0], nodes.ModeLive)
		if want := fmt.Sprintf("replaced-%d", lastReplaced.Load()); err != nil || got.Fields["token"] != want {
			t.Errorf("replaced credential: %v %v, want %s", got, err, want)
		}
		// Rotating again has nothing to do.
		again, err := step2.Rotate(ctx)
		if err != nil || again.Resealed != 0 || again.Current != n {
			t.Errorf("second rotation %+v %v", again, err)
		}
	})
}

// TestCheckNamesUnreadableCredentials covers a start-up with a key missing and a credential altered in the
// database: Check names both and why, changes nothing, and the API still lists them so an admin can act.
func TestCheckNamesUnreadableCredentials(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		old := &vault.Credentials{Store: st, Vault: keyring(t, 1)}
		current := &vault.Credentials{Store: st, Vault: keyring(t, 2)}
		lost, err := old.Create(ctx, "sealed under a lost key", "http.bearer", vault.Secrets{Destinations: []string{"https://api.example.com"}, Live: map[string]string{"token": "t1"}})
		if err != nil {
			t.Fatal(err)
		}
		altered, err := current.Create(ctx, "altered", "http.bearer", vault.Secrets{Destinations: []string{"https://api.example.com"}, Live: map[string]string{"token": "t2"}})
		if err != nil {
			t.Fatal(err)
		}
		fine, err := current.Create(ctx, "fine", "http.bearer", vault.Secrets{Destinations: []string{"https://api.example.com"}, Live: map[string]string{"token": "t3"}})
		if err != nil {
			t.Fatal(err)
		}
		row, _ := st.GetCredential(ctx, altered.ID)
		row.Sealed[len(row.Sealed)-1] ^= 1
		if err := st.UpdateCredential(ctx, row); err != nil {
			t.Fatal(err)
		}
		before, _ := st.ListCredentials(ctx)

		err = current.Check(ctx)
		var ue *vault.UnreadableError
		if !errors.As(err, &ue) || len(ue.Credentials) != 2 {
			t.Fatalf("check: %v", err)
		}
		msg := err.Error()
		for _, want := range []string{lost.ID, "sealed under a lost key", "not configured", altered.ID, "does not authenticate"} {
			if !strings.Contains(msg, want) {
				t.Errorf("check error lacks %q:\n%s", want, msg)
			}
		}
		if strings.Contains(msg, fine.ID) {
			t.Errorf("check names a readable credential:\n%s", msg)
		}
		byID := map[string]vault.Unreadable{}
		for _, u := range ue.Credentials {
			byID[u.ID] = u
		}
		if !byID[lost.ID].UnknownKey || byID[altered.ID].UnknownKey {
			t.Errorf("reasons: %+v", ue.Credentials)
		}

		// Rotation leaves them alone and says so; nothing was written.
		rep, err := current.Rotate(ctx)
		if err != nil || len(rep.Unreadable) != 2 || rep.Current != 1 || rep.Resealed != 0 {
			t.Errorf("rotate: %+v %v", rep, err)
		}
		after, _ := st.ListCredentials(ctx)
		for i := range before {
			if !bytes.Equal(before[i].Sealed, after[i].Sealed) || before[i].Version != after[i].Version {
				t.Errorf("credential %s changed", before[i].Name)
			}
		}
		// Listed as unreadable, not an error for the whole list; a run using one fails for good.
		list, err := current.List(ctx)
		if err != nil || len(list) != 3 {
			t.Fatalf("list: %v %v", list, err)
		}
		for _, in := range list {
			if want := map[string]string{lost.ID: vault.StatusUnreadable, altered.ID: vault.StatusUnreadable, fine.ID: vault.StatusOK}[in.ID]; in.Status != want {
				t.Errorf("%s: status %q (%s), want %q", in.Name, in.Status, in.StatusMessage, want)
			}
		}
		if _, err := current.Resolve(ctx, lost.ID, nodes.ModeLive); nodes.Classify(err).Code != "credential_unreadable" {
			t.Errorf("resolve: %v", err)
		}
		// Adding the lost key as a previous key brings it back; replacing the altered one recovers it.
		withOld := &vault.Credentials{Store: st, Vault: keyring(t, 2, 1)}
		// Its destinations were sealed with it, so the replacement names them again.
		if _, err := withOld.Replace(ctx, altered.ID, "", vault.Secrets{Destinations: []string{"https://api.example.com"}, Live: map[string]string{"token": "new"}}); err != nil {
			t.Fatal(err)
		}
		if err := withOld.Check(ctx); err != nil {
			t.Errorf("after recovery: %v", err)
		}
	})
}
