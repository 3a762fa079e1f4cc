package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ferry-hq/ferry/server/loadtest"
)

// benchCmd is `ferry bench`, the capacity benchmark IT runs against a server before promoting a release to it.
// The work is done by package loadtest; this command only maps flags onto its Config and prints the report.
func benchCmd() *cobra.Command {
	cfg := loadtest.Config{}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a running server's capacity with the reference webhook flow",
		Long: "Publishes the reference flow on the server at --url (webhook → map → condition → set tier → respond,\n" +
			"optionally with an HTTP call to --echo), posts the reference order to its webhook with a new order id\n" +
			"per request from --concurrency connections for --duration (or --requests in total), waits until\n" +
			"every accepted run has finished, and reports requests, errors, accepted and completed runs per\n" +
			"second, accept and end-to-end latency percentiles, runs by status and the server's memory.\n\n" +
			"The API token is taken from --api-token or, when that is empty, from FERRY_API_TOKEN.",
		Example: "  ferry bench --url http://127.0.0.1:8080\n" +
			"  ferry bench --url http://127.0.0.1:8080 --mode async --duration 10s --json\n" +
			"  ferry bench --url http://127.0.0.1:8080 --echo http://127.0.0.1:9999/echo",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(ctxOr(c.Context()), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if cfg.APIToken == "" {
				cfg.APIToken = os.Getenv("FERRY_API_TOKEN")
			}
			cfg.Progress = c.ErrOrStderr()
			rep, err := loadtest.Run(ctx, cfg)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(c.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				rep.Print(c.OutOrStdout())
			}
			if rep.WaitTimedOut {
				return errors.New("runs were still queued, running or waiting when --wait ran out; the figures are incomplete")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "base URL of the Ferry server to measure")
	f.StringVar(&cfg.FlowID, "flow", "", "id of a published flow with a webhook to load instead of publishing the reference flow")
	f.StringVar(&cfg.Mode, "mode", loadtest.ModeSync, "sync (callers wait for the Respond node) or async (202 once the run is committed)")
	f.StringVar(&cfg.EchoURL, "echo", "", "add a POST of the mapped order to this URL before answering (the + HTTP call variant)")
	f.IntVar(&cfg.Concurrency, "concurrency", loadtest.DefaultConcurrency, "requests in flight at once, one keep-alive connection each")
	f.DurationVar(&cfg.Duration, "duration", loadtest.DefaultDuration, "how long to send requests (ignored with --requests)")
	f.IntVar(&cfg.Requests, "requests", 0, "send exactly this many requests instead of running for --duration")
	f.DurationVar(&cfg.Wait, "wait", loadtest.DefaultWait, "how long to wait after the load for runs still queued or running")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.StringVar(&cfg.APIToken, "api-token", "", "token sent as \"Authorization: Bearer\" to the API and /metrics (never to webhooks)")
	return cmd
}
