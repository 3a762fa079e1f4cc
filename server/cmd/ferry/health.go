package main

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-hq/ferry/server/app"
)

// healthCmd asks a running Ferry whether it is ready. Container images built on a minimal base have no curl, so
// Docker and Compose health checks run `ferry health` instead.
func healthCmd(cfg *app.Config) *cobra.Command {
	return &cobra.Command{
		Use:   "health",
		Short: "Exit 0 if the Ferry listening on --addr answers /readyz with 200 (for container health checks)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return checkReady(cfg.Addr)
		},
	}
}

func checkReady(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("addr %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Get("http://" + net.JoinHostPort(host, port) + "/readyz")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: /readyz answered %s", res.Status)
	}
	return nil
}
