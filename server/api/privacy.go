package api

import (
	"encoding/json"
	"net/http"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/store"
)

// Run data is shown with personal data masked (phones, e-mails, identity and bank card numbers: the fields the
// Masker names). A caller whose role holds runs:reveal may ask for it unmasked with ?reveal=true; every such
// reveal goes to the audit log.

// revealing reports whether this request asked for unmasked run data, refusing callers who may not.
func (a *API) revealing(c fiber.Ctx) (bool, error) {
	if c.Query("reveal") != "true" {
		return false, nil
	}
	p := principal(c)
	if p == nil || !auth.Allowed(p.Role, auth.PermRunsReveal) {
		return false, &Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: "your role may not reveal personal data in runs"}
	}
	return true, nil
}

func (a *API) maskRaw(raw json.RawMessage) json.RawMessage {
	if a.Masker == nil {
		return raw
	}
	out, _ := a.Masker.MaskJSON(raw)
	return out
}

func (a *API) maskRun(r *RunResponse) {
	r.Trigger, r.Error, r.Response = a.maskRaw(r.Trigger), a.maskRaw(r.Error), a.maskRaw(r.Response)
}

// runView is a run as this caller may see it.
func (a *API) runView(c fiber.Ctx, run *store.Run) (RunResponse, error) {
	out := runResponse(run)
	reveal, err := a.revealing(c)
	if err != nil {
		return out, err
	}
	if reveal {
		a.audit(c, "run.reveal", "run", run.ID, nil)
	} else {
		a.maskRun(&out)
	}
	return out, nil
}

// detailView is a run with its steps as this caller may see it.
func (a *API) detailView(c fiber.Ctx, run *store.Run, steps []store.Step) (RunDetail, error) {
	d := runDetail(run, steps)
	reveal, err := a.revealing(c)
	if err != nil {
		return d, err
	}
	if reveal {
		a.audit(c, "run.reveal", "run", run.ID, nil)
		return d, nil
	}
	a.maskRun(&d.RunResponse)
	for i := range d.Steps {
		s := &d.Steps[i]
		s.Input, s.Output, s.Error = a.maskRaw(s.Input), a.maskRaw(s.Output), a.maskRaw(s.Error)
	}
	return d, nil
}
