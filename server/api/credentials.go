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
	// AllowedDestinations are where the credential may be sent: base URLs (https://api.example.com/v2), hosts
	// (api.example.com) or host patterns (*.example.com). Required for types without a provider (API key,
	// bearer, basic, OAuth2); connector types add their provider's hosts. On replace, absent keeps the list.
	AllowedDestinations *[]string `json:"allowedDestinations,omitempty"`
}

// CodeCredentialDestinations answers a credential whose destinations are missing or malformed.
const CodeCredentialDestinations = "credential_destinations_invalid"

func (r *CredentialRequest) secrets() vault.Secrets {
	s := vault.Secrets{Live: r.Live, Test: r.Test}
	if r.AllowedDestinations != nil {
		s.Destinations = *r.AllowedDestinations
		if s.Destinations == nil {
			s.Destinations = []string{}
		}
	}
	return s
}

func credentialError(err error) error {
	if errors.Is(err, vault.ErrDestinations) {
		return errBadRequest(CodeCredentialDestinations, "%s", err.Error())
	}
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
	info, err := a.Credentials.Create(c.Context(), req.Name, req.Type, req.secrets())
	if err != nil {
		return credentialError(err)
	}
	a.audit(c, "credential.create", "credential", info.ID, map[string]any{"name": info.Name, "type": info.Type, "allowedDestinations": info.AllowedDestinations})
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
	info, err := a.Credentials.Replace(c.Context(), c.Params("id"), req.Name, req.secrets())
	if err != nil {
		return credentialError(err)
	}
	a.audit(c, "credential.replace", "credential", info.ID, map[string]any{"name": info.Name, "type": info.Type, "allowedDestinations": info.AllowedDestinations})
	return ok(c, http.StatusOK, info)
}

func (a *API) deleteCredential(c fiber.Ctx) error {
	if err := a.Credentials.Delete(c.Context(), c.Params("id")); err != nil {
		return credentialError(err)
	}
	a.audit(c, "credential.delete", "credential", c.Params("id"), nil)
	return c.SendStatus(http.StatusNoContent)
}
