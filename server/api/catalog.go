package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/flows/expression"
	"github.com/ferry-hq/ferry/nodes"
)

// NodeInfo is one entry of the node catalog: the spec as registered, with the error port every node has
// added to its outputs, so the editor draws ports from the catalog alone.
type NodeInfo struct {
	nodes.Spec
	Outputs []nodes.Port `json:"outputs"`
}

// Catalog lists every registered node type, ordered by type and version, in English.
func Catalog() []NodeInfo {
	return CatalogIn(nodes.LangEnglish)
}

// CatalogIn lists every registered node type in lang: names, descriptions, port labels and parameter text
// translated where the node ships a translation, English otherwise. The registered specs are not changed.
func CatalogIn(lang string) []NodeInfo {
	var out []NodeInfo
	nodes.Walk(func(r *nodes.Registration) {
		spec := nodes.Localize(r.Spec, lang)
		info := NodeInfo{Spec: spec, Outputs: append(append([]nodes.Port(nil), spec.Outputs...),
			nodes.Port{ID: nodes.ErrorPort, Label: nodes.ErrorPortLabel(lang), Kind: nodes.PortError})}
		if info.Spec.Inputs == nil {
			info.Spec.Inputs = []nodes.Port{}
		}
		if info.Spec.Params == nil {
			info.Spec.Params = []nodes.Field{}
		}
		out = append(out, info)
	})
	return out
}

// CredentialTypesIn lists every registered credential type with its form text in lang.
func CredentialTypesIn(lang string) []nodes.CredentialType {
	types := nodes.CredentialTypes()
	for i := range types {
		types[i] = nodes.LocalizeCredentialType(types[i], lang)
	}
	return types
}

// catalogLanguage picks the language of a catalog response from the caller's Accept-Language (the editor sends
// the language it is shown in) and declares it: Content-Language names it, and Vary tells caches that the same
// URL answers differently per language.
func catalogLanguage(c fiber.Ctx) string {
	lang := negotiateLanguage(c.Get(fiber.HeaderAcceptLanguage))
	c.Vary(fiber.HeaderAcceptLanguage)
	c.Set(fiber.HeaderContentLanguage, lang)
	return lang
}

// negotiateLanguage reads an Accept-Language header and returns nodes.LangChinese when the caller prefers
// Simplified Chinese (zh, zh-CN, zh-SG, zh-Hans and its regional forms) over English, and nodes.LangEnglish in
// every other case, including Traditional Chinese, which the catalog is not translated into. Preference follows
// the q weights, ties going to the earlier entry; q=0 rules a language out.
func negotiateLanguage(header string) string {
	best, bestQ := nodes.LangEnglish, -1.0
	for _, part := range strings.Split(header, ",") {
		fields := strings.Split(part, ";")
		tag := strings.ToLower(strings.TrimSpace(fields[0]))
		if tag == "" {
			continue
		}
		q := 1.0
		for _, p := range fields[1:] {
			p = strings.TrimSpace(p)
			if v, found := strings.CutPrefix(p, "q="); found {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
					q = f
				} else {
					q = 0
				}
			}
		}
		if q <= 0 || q <= bestQ {
			continue
		}
		if lang := supportedLanguage(tag); lang != "" {
			best, bestQ = lang, q
		}
	}
	return best
}

// supportedLanguage maps a lower-case language tag to a language the catalog is served in, or "". The wildcard
// "*" stands for English, the source every string exists in.
func supportedLanguage(tag string) string {
	switch {
	case tag == "zh", tag == "zh-cn", tag == "zh-sg", tag == "zh-hans", strings.HasPrefix(tag, "zh-hans-"):
		return nodes.LangChinese
	case tag == "en", strings.HasPrefix(tag, "en-"), tag == "*":
		return nodes.LangEnglish
	}
	return ""
}

func (a *API) listNodes(c fiber.Ctx) error {
	return ok(c, http.StatusOK, fiber.Map{"nodes": CatalogIn(catalogLanguage(c))})
}

func (a *API) listFunctions(c fiber.Ctx) error {
	return ok(c, http.StatusOK, fiber.Map{"functions": expression.FunctionsIn(catalogLanguage(c))})
}
