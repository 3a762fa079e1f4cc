// Command ferry runs the Ferry integration platform: `ferry serve` (the default) starts the API, webhooks,
// scheduler and workers; `migrate`, `import`, `export` and `version` are for IT scripts.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/ferry-hq/ferry/flows"
	"github.com/ferry-hq/ferry/server/app"
	"github.com/ferry-hq/ferry/server/store"
)

// defaultGCPercent is the garbage collector's target when GOGC is not set. Run data is short-lived garbage by
// the megabyte per second under load; collecting at 200 % heap growth instead of Go's 100 % spends less CPU on
// it for a few tens of megabytes more memory. (At 300 % the synchronous webhook load was no faster, measured
// back to back, and the process held a third more memory under load and in a backfill.) GOGC and GOMEMLIMIT in
// the environment override it.
const defaultGCPercent = 200

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if err := root().Execute(); err != nil {
		os.Exit(1)
	}
}

func root() *cobra.Command {
	cfg, envErr := app.FromEnv()
	cmd := &cobra.Command{
		Use:   "ferry",
		Short: "Ferry connects payment providers, shops and CRMs with flows drawn in the browser",
		Long: "Ferry connects payment providers, shops and CRMs with flows drawn in the browser.\n\n" +
			"Run without a command it serves (same as `ferry serve`). Every flag can also be set through the\n" +
			"environment variable named in its description; flags win. FERRY_SECRET_KEY (32 bytes, base64) is\n" +
			"read from the environment only.",
		SilenceUsage: true,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			if envErr != nil {
				return envErr
			}
			for _, s := range app.Settings() {
				if c.Flags().Changed(s.Flag) {
					cfg.PinFlag(s.Flag) // a flag wins over the settings screen, which then shows it read-only
				}
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			slog.SetDefault(cfg.Logger())
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error { return serve(c.Context(), cfg) },
	}
	for _, s := range app.Settings() {
		usage := fmt.Sprintf("%s (env %s)", s.Usage, s.Env)
		switch t := s.Target(&cfg).(type) {
		case *string:
			cmd.PersistentFlags().StringVar(t, s.Flag, *t, usage)
		case *int:
			cmd.PersistentFlags().IntVar(t, s.Flag, *t, usage)
		case *time.Duration:
			cmd.PersistentFlags().DurationVar(t, s.Flag, *t, usage)
		case *bool:
			cmd.PersistentFlags().BoolVar(t, s.Flag, *t, usage)
		}
	}
	cmd.AddCommand(
		&cobra.Command{Use: "serve", Short: "Serve the API, webhooks and editor, and execute runs (default)",
			Args: cobra.NoArgs, RunE: func(c *cobra.Command, _ []string) error { return serve(c.Context(), cfg) }},
		&cobra.Command{Use: "migrate", Short: "Apply database migrations and exit", Args: cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				if err := store.Migrate(c.Context(), cfg.DatabaseURL, cfg.DataDir); err != nil {
					return err
				}
				fmt.Println("migrations applied")
				return nil
			}},
		importCmd(&cfg), exportCmd(&cfg), benchCmd(), healthCmd(&cfg), tokensCmd(&cfg), keysCmd(&cfg),
		&cobra.Command{Use: "version", Short: "Print the version", Args: cobra.NoArgs,
			Run: func(*cobra.Command, []string) {
				fmt.Printf("ferry %s (flow schema %d)\n", app.Version, flows.SchemaVersion)
			}},
	)
	return cmd
}

func serve(ctx context.Context, cfg app.Config) error {
	ctx, stop := signal.NotifyContext(ctxOr(ctx), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	// Starting leaves garbage behind: the migration parser's 16 MiB of pooled buffers, the tables phone metadata
	// and the password dictionaries are built from, the first admin's password hash. Returning it now keeps an
	// idle process small; under GOGC=200 the collector would otherwise leave it until the heap had grown
	// threefold. Two collections, because pooled buffers survive the first one.
	runtime.GC()
	debug.FreeOSMemory()
	return a.Run(ctx)
}

func ctxOr(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

// importCmd imports flow documents straight into the store, for provisioning scripts that run before the
// server starts. Each file is validated first; an invalid one is reported with its problems and nothing of it
// is written.
func importCmd(cfg *app.Config) *cobra.Command {
	var publish bool
	cmd := &cobra.Command{Use: "import FILE...", Short: "Import flow documents (exported JSON) into the store",
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, files []string) error {
			st, err := store.Open(c.Context(), cfg.DatabaseURL, cfg.DataDir)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, file := range files {
				data, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				f, err := flows.Parse(data)
				if err == nil {
					if problems := flows.Validate(f); problems != nil {
						err = &flows.ValidationError{Problems: problems}
					}
				}
				if err != nil {
					for _, p := range flows.Problems(err) {
						fmt.Fprintf(os.Stderr, "%s: %s %s%s: %s\n", file, p.Code, p.NodeID, where(p), p.Message)
					}
					return fmt.Errorf("%s: not imported", file)
				}
				doc, err := f.Marshal()
				if err != nil {
					return err
				}
				now := time.Now().UTC()
				row := &store.Flow{ID: uuid.NewString(), Name: f.Name, Description: f.Description, Draft: doc, Revision: 1,
					Status: store.FlowDraft, CreatedAt: now, UpdatedAt: now}
				var v *store.FlowVersion
				if publish {
					v = &store.FlowVersion{FlowID: row.ID, Version: 1, Doc: doc, Message: "imported from " + file, CreatedAt: now}
				}
				if err := st.ImportFlow(c.Context(), row, v); err != nil {
					return fmt.Errorf("%s: %w", file, err)
				}
				fmt.Printf("%s\t%s\t%s\n", row.ID, f.Name, file)
			}
			return nil
		}}
	cmd.Flags().BoolVar(&publish, "publish", false, "publish each imported flow at once")
	return cmd
}

func where(p flows.Problem) string {
	s := ""
	if p.Field != "" {
		s += " " + p.Field
	}
	if p.Line > 0 {
		s += " (line " + strconv.Itoa(p.Line) + ", column " + strconv.Itoa(p.Column) + ")"
	}
	return s
}

func exportCmd(cfg *app.Config) *cobra.Command {
	var version int
	cmd := &cobra.Command{Use: "export FLOW-ID", Short: "Print a flow document (the draft, or --version N) to standard output",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			st, err := store.Open(c.Context(), cfg.DatabaseURL, cfg.DataDir)
			if err != nil {
				return err
			}
			defer st.Close()
			var doc json.RawMessage
			if version > 0 {
				v, err := st.GetVersion(c.Context(), args[0], version)
				if err != nil {
					return err
				}
				doc = v.Doc
			} else {
				f, err := st.GetFlow(c.Context(), args[0])
				if err != nil {
					return err
				}
				doc = f.Draft
			}
			var pretty any
			if err := json.Unmarshal(doc, &pretty); err != nil {
				return err
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(pretty)
		}}
	cmd.Flags().IntVar(&version, "version", 0, "published version to export")
	return cmd
}
