package api

import (
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/gofiber/fiber/v3"
)

// serveWeb serves the embedded single-page app: files as they are, hashed assets cached for a year, and
// index.html for any other path so client-side routes survive a reload. API and webhook paths never fall back
// to the page: an unknown one is a JSON 404.
func (a *API) serveWeb(c fiber.Ctx) error {
	p := strings.TrimPrefix(path.Clean(c.Path()), "/")
	if p == "api" || strings.HasPrefix(p, "api/") || strings.HasPrefix(p, "hooks/") {
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no route for " + c.Method() + " " + c.Path()}
	}
	if a.Web == nil {
		return errNotFound("web app")
	}
	if p == "" || p == "." {
		p = "index.html"
	}
	data, err := fs.ReadFile(a.Web, p)
	if err != nil {
		p = "index.html"
		if data, err = fs.ReadFile(a.Web, p); err != nil {
			return errNotFound("web app")
		}
	}
	ct := mime.TypeByExtension(path.Ext(p))
	if ct == "" {
		ct = "application/octet-stream"
	}
	c.Set("Content-Type", ct)
	// Every other answer is no-store (securityHeaders); the hashed assets never change, so they are cached.
	if strings.HasPrefix(p, "assets/") {
		c.Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	return c.Send(data)
}
