package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-hq/ferry/server/app"
	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/store"
)

// tokensCmd creates API tokens straight in the store, for provisioning scripts that run before anyone signs in
// (a deployment that created its first admin with FERRY_ADMIN_EMAIL and now needs a token for its CI).
func tokensCmd(cfg *app.Config) *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "Manage API tokens from the command line"}
	var email, name, role string
	var expires time.Duration
	create := &cobra.Command{Use: "create", Short: "Create an API token for a user and print it (shown once)", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := store.Open(c.Context(), cfg.DatabaseURL, cfg.DataDir)
			if err != nil {
				return err
			}
			defer st.Close()
			u, err := st.GetUserByEmail(c.Context(), email)
			if err != nil {
				return fmt.Errorf("user %s: %w", email, err)
			}
			if u.Disabled {
				return fmt.Errorf("user %s is disabled", email)
			}
			var until time.Time
			if expires > 0 {
				until = time.Now().Add(expires)
			}
			svc := auth.NewService(st, nil)
			p := &auth.Principal{Kind: "session", UserID: u.ID, Email: u.Email, Role: auth.Role(u.Role)}
			secret, t, err := svc.CreateToken(c.Context(), p, name, auth.Role(role), until, "")
			if err != nil {
				return err
			}
			fmt.Fprintf(c.ErrOrStderr(), "token %s (%s, role %s) for %s\n", t.ID, t.Name, t.Role, u.Email)
			fmt.Fprintln(c.OutOrStdout(), secret)
			return nil
		}}
	create.Flags().StringVar(&email, "email", "", "e-mail of the user the token belongs to (required)")
	create.Flags().StringVar(&name, "name", "", "what the token is for (required)")
	create.Flags().StringVar(&role, "role", "", "admin, editor, operator or viewer; at most the user's role (default: the user's)")
	create.Flags().DurationVar(&expires, "expires", 0, "lifetime such as 720h; 0: no expiry")
	_ = create.MarkFlagRequired("email")
	_ = create.MarkFlagRequired("name")
	cmd.AddCommand(create)
	return cmd
}
