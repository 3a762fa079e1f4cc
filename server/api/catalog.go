package api

import (
	"net/http"

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

// Catalog lists every registered node type, ordered by type and version.
func Catalog() []NodeInfo {
	var out []NodeInfo
	nodes.Walk(func(r *nodes.Registration) {
		info := NodeInfo{Spec: r.Spec, Outputs: append(append([]nodes.Port(nil), r.Spec.Outputs...),
			nodes.Port{ID: nodes.ErrorPort, Label: "Error", Kind: nodes.PortError})}
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

func (a *API) listNodes(c fiber.Ctx) error {
	return ok(c, http.StatusOK, fiber.Map{"nodes": Catalog()})
}

func (a *API) listFunctions(c fiber.Ctx) error {
	return ok(c, http.StatusOK, fiber.Map{"functions": expression.Functions()})
}
