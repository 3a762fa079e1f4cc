package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ferry-hq/ferry/server/app"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/vault"
)

// keysCmd groups the commands that look after the keys credentials are encrypted with.
func keysCmd(cfg *app.Config) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Check credentials against the secret keys, and re-encrypt them after a key change",
		Long: "Credentials are encrypted under FERRY_SECRET_KEY; FERRY_SECRET_KEY_PREVIOUS (comma-separated) lists\n" +
			"older keys that still open what they sealed. To rotate without downtime:\n\n" +
			"  1. Give every process the new key as a previous key (FERRY_SECRET_KEY_PREVIOUS=new) and restart them\n" +
			"     one by one: all of them can now open what the new key will seal.\n" +
			"  2. Make the new key current and the old one previous (FERRY_SECRET_KEY=new,\n" +
			"     FERRY_SECRET_KEY_PREVIOUS=old) and restart them one by one.\n" +
			"  3. Run `ferry keys rotate` with that same environment: every credential, and then the run data sealed at\n" +
			"     rest, is re-encrypted under the new key, in small batches, while the servers keep running.\n" +
			"  4. Run `ferry keys check`; when it reports nothing under the old key, remove it from\n" +
			"     FERRY_SECRET_KEY_PREVIOUS.\n\n" +
			"A single embedded server can skip step 1. Moving from the generated key file to FERRY_SECRET_KEY needs only\n" +
			"steps 3 and 4: the key file in the data directory is still read as a previous key.",
	}
	cmd.AddCommand(
		rotateCmd(cfg),
		&cobra.Command{Use: "check", Short: "List credentials the configured keys cannot decrypt (exit status 1 if any)",
			Args: cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				return withCredentials(c.Context(), cfg, func(creds *vault.Credentials) error {
					return checkKeys(c.Context(), creds, c.OutOrStdout())
				})
			}},
	)
	return cmd
}

// rotateCmd re-encrypts credentials and, unless told not to, the run data sealed at rest.
func rotateCmd(cfg *app.Config) *cobra.Command {
	var credentialsOnly bool
	cmd := &cobra.Command{Use: "rotate", Short: "Re-encrypt every credential, and the run data sealed at rest, under the current key (servers may keep running)",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withCredentials(c.Context(), cfg, func(creds *vault.Credentials) error {
				if err := rotateKeys(c.Context(), creds, c.OutOrStdout()); err != nil {
					return err
				}
				if credentialsOnly {
					return nil
				}
				return resealRunData(c.Context(), creds, c.OutOrStdout())
			})
		}}
	cmd.Flags().BoolVar(&credentialsOnly, "credentials-only", false, "leave run data sealed under previous keys (it stays readable while they are configured, and goes with retention)")
	return cmd
}

// resealRunData walks every run in batches, each its own short transaction, so servers keep committing.
func resealRunData(ctx context.Context, creds *vault.Credentials, out io.Writer) error {
	rs, ok := creds.Store.(store.RunDataResealer)
	if !ok {
		return nil
	}
	if ss, ok := creds.Store.(store.SealerSetter); ok {
		ss.SetSealer(creds.Vault)
	}
	after, total := "", 0
	for {
		last, n, err := rs.ResealRunData(ctxOr(ctx), creds.Vault.KeyID(), after, 500)
		if err != nil {
			return fmt.Errorf("re-sealing run data after run %q: %w", after, err)
		}
		total += n
		if last == "" {
			break
		}
		after = last
	}
	fmt.Fprintf(out, "re-sealed %d run data value(s) under key %s\n", total, creds.Vault.KeyID())
	if ts, ok := creds.Store.(store.TestSecretResealer); ok {
		n, err := ts.ResealTestSecrets(ctxOr(ctx), creds.Vault.KeyID())
		if err != nil {
			return fmt.Errorf("re-sealing test webhook secrets: %w", err)
		}
		fmt.Fprintf(out, "re-sealed %d test webhook secret(s) under key %s\n", n, creds.Vault.KeyID())
	}
	return nil
}

// withCredentials opens the store and the keyring the way the server does and hands over the credential vault.
func withCredentials(ctx context.Context, cfg *app.Config, f func(*vault.Credentials) error) error {
	v, err := vault.Load(vault.KeySource{Current: cfg.SecretKey, Previous: os.Getenv(vault.PreviousKeysEnv),
		DataDir: cfg.DataDir, Shared: cfg.DatabaseURL != ""})
	if err != nil {
		return err
	}
	st, err := store.Open(ctxOr(ctx), cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	return f(&vault.Credentials{Store: st, Vault: v})
}

// errUnreadable makes the commands exit with status 1 after they printed which credentials are unreadable.
var errUnreadable = errors.New("some credentials cannot be decrypted with the configured keys")

func rotateKeys(ctx context.Context, creds *vault.Credentials, out io.Writer) error {
	rep, err := creds.Rotate(ctxOr(ctx))
	if rep != nil {
		fmt.Fprintf(out, "re-sealed %d credential(s) under key %s; %d already were\n", rep.Resealed, rep.KeyID, rep.Current)
		printUnreadable(out, rep.Unreadable)
	}
	if err != nil {
		return err
	}
	if len(rep.Unreadable) > 0 {
		return errUnreadable
	}
	return nil
}

func checkKeys(ctx context.Context, creds *vault.Credentials, out io.Writer) error {
	ctx = ctxOr(ctx)
	rows, err := creds.Store.ListCredentials(ctx)
	if err != nil {
		return err
	}
	bad, err := creds.Unreadable(ctx)
	if err != nil {
		return err
	}
	byKey := map[string]int{}
	for _, r := range rows {
		byKey[r.KeyID]++
	}
	ids := creds.Vault.KeyIDs()
	fmt.Fprintf(out, "%d credential(s); %d under the current key %s", len(rows), byKey[ids[0]], ids[0])
	for _, id := range ids[1:] {
		fmt.Fprintf(out, ", %d under previous key %s", byKey[id], id)
	}
	fmt.Fprintln(out)
	if stale := len(rows) - byKey[ids[0]] - len(bad); stale > 0 {
		fmt.Fprintf(out, "%d credential(s) are sealed under a previous key: run `ferry keys rotate`\n", stale)
	}
	printUnreadable(out, bad)
	if len(bad) > 0 {
		return errUnreadable
	}
	return nil
}

func printUnreadable(out io.Writer, bad []vault.Unreadable) {
	if len(bad) == 0 {
		return
	}
	fmt.Fprintf(out, "%d credential(s) cannot be decrypted:\n", len(bad))
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tKEY\tREASON")
	for _, u := range bad {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", u.ID, u.Name, u.KeyID, u.Reason)
	}
	w.Flush()
}
