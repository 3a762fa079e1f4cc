package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/server/auth"
)

// TestAuthErrorAnswers: every refusal that says when to come back carries Retry-After in whole seconds, rounded
// up, with its stable code; a weak password has its own code.
func TestAuthErrorAnswers(t *testing.T) {
	for _, c := range []struct {
		err         error
		status      int
		code, retry string
	}{
		{&auth.SignInError{RetryAfter: 1500 * time.Millisecond}, 401, CodeBadCredentials, "2"},
		{&auth.SignInError{}, 401, CodeBadCredentials, ""},
		{&auth.ThrottledError{RetryAfter: 64 * time.Second}, 429, CodeThrottled, "64"},
		{&auth.BusyError{RetryAfter: 3 * time.Second}, 503, CodeSignInBusy, "3"},
		{fmt.Errorf("%w: too short", auth.ErrWeakPassword), 400, CodePasswordWeak, ""},
	} {
		a := &API{}
		app := fiber.New(fiber.Config{ErrorHandler: a.handleError})
		app.Get("/", func(fc fiber.Ctx) error { return authError(fc, c.err) })
		res, err := app.Test(httptest.NewRequest("GET", "/", nil))
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		if err := decodeTestBody(res.Body, &body); err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != c.status || body.Error.Code != c.code || res.Header.Get("Retry-After") != c.retry {
			t.Errorf("%v: %d %s Retry-After %q, want %d %s %q", c.err, res.StatusCode, body.Error.Code, res.Header.Get("Retry-After"),
				c.status, c.code, c.retry)
		}
	}
}

func decodeTestBody(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
