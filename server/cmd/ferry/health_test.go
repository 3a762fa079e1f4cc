package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheckReady(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	if err := checkReady(addr); err != nil {
		t.Fatalf("ready server: %v", err)
	}
	// A container listens on 0.0.0.0; the check asks loopback.
	port := addr[strings.LastIndex(addr, ":"):]
	if err := checkReady("0.0.0.0" + port); err != nil {
		t.Fatalf("0.0.0.0 address: %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := checkReady(addr); err == nil {
		t.Fatal("an unready server passed the check")
	}
}
