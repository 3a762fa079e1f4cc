package api

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/server/vault"
)

// CredentialRequest creates or replaces a credential. Secret values go in and never come out (I5).
type CredentialRequest struct {
	Name string            `json:"name"`
	Type string            `json:"type,omitempty"`
	Live map[string]string `json:"live"`
	Test map[string]string `json:"test,omitempty"`
}

func credentialError(err error) error {
	if errors.Is(err, vault.ErrInvalid) {
		return errBadRequest("credential_invalid", "%s", err.Error())
	}
	return fromStore(err, "credential")
}

func (a *API) listCredentialTypes(c fiber.Ctx) error {
	return ok(c, http.StatusOK, fiber.Map{"types": CredentialTypesIn(catalogLanguage(c))})
}

func (a *API) listCredentials(c fiber.Ctx) error {
	list, err := a.Credentials.List(c.Context())
	if err != nil {
		return credentialError(err)
	}
	if list == nil {
		list = []vault.Info{}
	}
	return ok(c, http.StatusOK, fiber.Map{"credentials": list})
}

func (a *API) createCredential(c fiber.Ctx) error {
	var req CredentialRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	info, err := a.Credentials.Create(c.Context(), req.Name, req.Type, vault.Secrets{Live: req.Live, Test: req.Test})
	if err != nil {
		return credentialError(err)
	}
	a.audit(c, "credential.create", "credential", info.ID, map[string]any{"name": info.Name, "type": info.Type})
	return ok(c, http.StatusCreated, info)
}

func (a *API) getCredential(c fiber.Ctx) error {
	info, err := a.Credentials.Get(c.Context(), c.Params("id"))
	if err != nil {
		return credentialError(err)
	}
	return ok(c, http.StatusOK, info)
}

func (a *API) replaceCredential(c fiber.Ctx) error {
	var req CredentialRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	info, err := a.Credentials.Replace(c.Context(), c.Params("id"), req.Name, vault.Secrets{Live: req.Live, Test: req.Test})
	if err != nil {
		return credentialError(err)
	}
	a.audit(c, "credential.replace", "credential", info.ID, map[string]any{"name": info.Name, "type": info.Type})
	return ok(c, http.StatusOK, info)
}

func (a *API) deleteCredential(c fiber.Ctx) error {
	if err := a.Credentials.Delete(c.Context(), c.Params("id")); err != nil {
		return credentialError(err)
	}
	a.audit(c, "credential.delete", "credential", c.Params("id"), nil)
	return c.SendStatus(http.StatusNoContent)
}
