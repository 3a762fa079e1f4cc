package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/server/settings"
)

func init() {
	routeGroups = append(routeGroups, (*API).settingsRoutes)
	schemaGroups = append(schemaGroups, settingsSchemas)
}

func (a *API) settingsRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/settings", Permission: PermSettingsManage, Tag: "settings",
			Summary:  "Every setting, grouped, with its value, default and source (default, environment or stored), and read-only facts about this process; never a secret",
			Response: "Settings", Handler: a.getSettings},
		{Method: "PUT", Path: "/api/v1/settings", Permission: PermSettingsManage, Tag: "settings",
			Summary: "Change settings ({key: value}; null resets one to its default), all or nothing; they apply at once here and within seconds in every other process",
			Request: "SettingsChange", Response: "Settings", Handler: a.updateSettings},
		{Method: "DELETE", Path: "/api/v1/settings/:key", Permission: PermSettingsManage, Tag: "settings",
			Summary:  "Reset a setting to its default",
			Response: "Settings", Handler: a.resetSetting},
	}
}

func settingsSchemas() map[string]any {
	value := map[string]any{"description": "a number, text, true/false or a list of names, by kind"}
	setting := obj(map[string]any{
		"key": str, "group": str, "value": value, "default": value,
		"kind":        map[string]any{"enum": []string{settings.KindInteger, settings.KindList, settings.KindEnum, settings.KindString, settings.KindBoolean, settings.KindDuration}},
		"source":      map[string]any{"enum": []string{settings.SourceDefault, settings.SourceEnvironment, settings.SourceStored}},
		"editable":    boolean,
		"env":         str,
		"setBy":       map[string]any{"type": "string", "description": "the environment variable or flag that set the value; it wins over the settings screen"},
		"description": str, "min": integer, "max": integer, "maxItems": integer, "options": list(str),
		"updatedBy": str, "updatedAt": when,
	}, "key", "group", "kind", "value", "default", "source", "editable", "env", "description")
	return map[string]any{
		"Settings": obj(map[string]any{
			"groups": list(obj(map[string]any{"id": map[string]any{"enum": settings.GroupOrder}, "settings": list(ref("Setting"))}, "id", "settings")),
			"facts":  list(obj(map[string]any{"key": str, "value": anyJSON}, "key", "value")),
			"changes": map[string]any{"description": "after a change: each requested setting's value before and after",
				"type": "array", "items": obj(map[string]any{"key": str, "before": anyJSON, "after": anyJSON}, "key")},
		}, "groups", "facts"),
		"Setting": setting,
		"SettingsChange": map[string]any{"type": "object", "description": "setting key → new value; null resets the setting to its default",
			"additionalProperties": anyJSON, "minProperties": 1},
	}
}

// SettingsGroup is one section of the settings screen.
type SettingsGroup struct {
	ID       string           `json:"id"`
	Settings []settings.Entry `json:"settings"`
}

// SettingsResponse is every setting, grouped, with the facts about the process and, after a change, what it
// changed.
type SettingsResponse struct {
	Groups  []SettingsGroup   `json:"groups"`
	Facts   []settings.Fact   `json:"facts"`
	Changes []settings.Change `json:"changes,omitempty"`
}

func (a *API) settingsResponse(changes []settings.Change) SettingsResponse {
	out := SettingsResponse{Facts: a.Settings.Facts, Changes: changes}
	if out.Facts == nil {
		out.Facts = []settings.Fact{}
	}
	byGroup := map[string][]settings.Entry{}
	for _, e := range a.Settings.List() {
		byGroup[e.Group] = append(byGroup[e.Group], e)
	}
	for _, g := range settings.GroupOrder {
		if len(byGroup[g]) > 0 {
			out.Groups = append(out.Groups, SettingsGroup{ID: g, Settings: byGroup[g]})
		}
	}
	if out.Groups == nil {
		out.Groups = []SettingsGroup{}
	}
	return out
}

func (a *API) settingsAvailable() error {
	if a.Settings == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "settings are not available in this process"}
	}
	return nil
}

func (a *API) getSettings(c fiber.Ctx) error {
	if err := a.settingsAvailable(); err != nil {
		return err
	}
	// Read the database now rather than show what the last poll saw: another process may just have changed it.
	if err := a.Settings.Load(c.Context()); err != nil {
		return err
	}
	return ok(c, http.StatusOK, a.settingsResponse(nil))
}

func (a *API) updateSettings(c fiber.Ctx) error {
	if err := a.settingsAvailable(); err != nil {
		return err
	}
	var changes map[string]json.RawMessage
	if err := decodeJSON(c, &changes); err != nil {
		return err
	}
	if changes == nil {
		return errBadRequest(CodeInvalidJSON, "send an object of setting keys and values")
	}
	return a.changeSettings(c, changes, http.StatusBadRequest)
}

func (a *API) resetSetting(c fiber.Ctx) error {
	if err := a.settingsAvailable(); err != nil {
		return err
	}
	return a.changeSettings(c, map[string]json.RawMessage{c.Params("key"): json.RawMessage("null")}, http.StatusNotFound)
}

// changeSettings applies changes and audits them; unknownStatus is how an unknown key is answered (400 in a
// body, 404 in a path).
func (a *API) changeSettings(c fiber.Ctx, changes map[string]json.RawMessage, unknownStatus int) error {
	by := ""
	if p := principal(c); p != nil {
		by = p.Email
	}
	done, err := a.Settings.Update(c.Context(), changes, by)
	if err != nil {
		var se *settings.Error
		if errors.As(err, &se) {
			e := &Error{Status: http.StatusBadRequest, Code: se.Code, Message: se.Message}
			if se.Key != "" {
				e.Message = se.Key + ": " + se.Message
				e.Details = map[string]any{"key": se.Key}
			}
			if se.Code == settings.CodeUnknown {
				e.Status = unknownStatus
			}
			return e
		}
		return err
	}
	keys := make([]string, len(done))
	for i, ch := range done {
		keys[i] = ch.Key
	}
	a.audit(c, "settings.update", "settings", strings.Join(keys, ","), map[string]any{"changes": done})
	return ok(c, http.StatusOK, a.settingsResponse(done))
}
