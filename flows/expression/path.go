package expression

// Path is a parsed jsonGet path ("customer.addresses[0].city", "items.0.sku", `meta["order.id"]`), for nodes
// that point at a field of their input with the same syntax the expression language uses, so a path that works
// in jsonGet works there too.
type Path struct {
	text  string
	steps []pathStep
}

// ParsePath parses a path once, at save time; the error says what is wrong and where.
func ParsePath(path string) (Path, error) {
	steps, err := parsePath(path)
	if err != nil {
		return Path{}, err
	}
	return Path{text: path, steps: steps}, nil
}

// Lookup follows the path through decoded JSON and reports false when a step is missing (a key that is not
// there, an index out of range, a step into something that is not an object or a list).
func (p Path) Lookup(v any) (any, bool) { return walkPath(v, p.steps) }

// String returns the path as it was written.
func (p Path) String() string { return p.text }
