// Package nodedocs renders the node reference, docs/nodes, from the node registry: a page per node type, a page
// per credential type and an index by category, so the reference says exactly what the specs say. The output
// depends only on the registered specs (no dates, no map order), so regenerating an unchanged registry changes
// nothing and a test can tell when the committed reference is stale. The reference is in English, the language
// the specs are written in.
package nodedocs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ferry-hq/ferry/nodes"
)

// Command regenerates the reference; messages about a stale reference tell the reader to run it from the
// repository's root.
const Command = "go run ./internal/cmd/nodedocs"

// Dir is where the reference lives, relative to the repository's root.
const Dir = "docs/nodes"

const generated = "<!-- Generated from the node registry by `" + Command + "`. Do not edit: change the spec and regenerate. -->\n\n"

// categories orders the index and names its sections, in the order of the editor's palette groups.
var categories = []struct {
	id    nodes.Category
	title string
}{
	{nodes.CategoryTrigger, "Triggers"},
	{nodes.CategoryLogic, "Logic"},
	{nodes.CategoryData, "Data"},
	{nodes.CategoryAction, "Actions"},
	{nodes.CategoryPayments, "Payments"},
	{nodes.CategoryShops, "Shops"},
	{nodes.CategoryCRM, "CRM"},
	{nodes.CategoryNotifications, "Notifications"},
	{nodes.CategoryUtilities, "Utilities"},
}

// Files renders the reference for every registered node type and credential type, keyed by slash-separated
// path relative to Dir: README.md (the index), <type>.md and credentials/<id>.md.
func Files() map[string][]byte {
	byType := map[string][]nodes.Spec{}
	var types []string
	nodes.Walk(func(r *nodes.Registration) {
		if byType[r.Spec.Type] == nil {
			types = append(types, r.Spec.Type)
		}
		byType[r.Spec.Type] = append(byType[r.Spec.Type], r.Spec)
	})
	creds := nodes.CredentialTypes()
	credByID := map[string]nodes.CredentialType{}
	usedBy := map[string][]nodes.Spec{}
	for _, ct := range creds {
		credByID[ct.ID] = ct
	}

	files := map[string][]byte{}
	var latest []nodes.Spec
	for _, typ := range types {
		versions := byType[typ]
		// Newest first: the version new flows get is what a reader looks for.
		sort.Slice(versions, func(i, j int) bool { return versions[i].Version > versions[j].Version })
		latest = append(latest, versions[0])
		for _, id := range versions[0].Credentials {
			usedBy[id] = append(usedBy[id], versions[0])
		}
		files[nodePage(typ)] = renderNode(versions, credByID)
	}
	for _, ct := range creds {
		files[credentialPage(ct.ID)] = renderCredential(ct, usedBy[ct.ID])
	}
	files["README.md"] = renderIndex(latest, creds, usedBy)
	return files
}

func nodePage(typ string) string      { return typ + ".md" }
func credentialPage(id string) string { return "credentials/" + id + ".md" }

func renderIndex(specs []nodes.Spec, creds []nodes.CredentialType, usedBy map[string][]nodes.Spec) []byte {
	var b strings.Builder
	b.WriteString(generated)
	b.WriteString("# Node reference\n\n")
	b.WriteString("Every node type and credential type Ferry ships, as registered: the same specs drive the editor's " +
		"forms, save-time validation and `GET /api/v1/nodes`. Each page lists the node's ports, every parameter " +
		"with its type, default, options, conditions and examples, the credentials it accepts and its longer " +
		"documentation. The editor shows the same text in Chinese; this reference is in English, the language " +
		"the specs are written in.\n")

	byCategory := map[nodes.Category][]nodes.Spec{}
	for _, s := range specs {
		byCategory[s.Category] = append(byCategory[s.Category], s)
	}
	sections := categories
	var unknown []string
	for c := range byCategory {
		if !knownCategory(c) {
			unknown = append(unknown, string(c))
		}
	}
	sort.Strings(unknown)
	for _, c := range unknown {
		sections = append(sections, struct {
			id    nodes.Category
			title string
		}{nodes.Category(c), c})
	}
	for _, sec := range sections {
		list := byCategory[sec.id]
		if len(list) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n| node | type | what it does |\n|---|---|---|\n", sec.title)
		for _, s := range list {
			fmt.Fprintf(&b, "| [%s](%s) | `%s` | %s |\n", text(s.Name), nodePage(s.Type), s.Type, text(s.Description))
		}
	}
	if len(creds) > 0 {
		b.WriteString("\n## Credential types\n\n| credential type | id | used by |\n|---|---|---|\n")
		for _, ct := range creds {
			var users []string
			for _, s := range usedBy[ct.ID] {
				users = append(users, fmt.Sprintf("[`%s`](%s)", s.Type, nodePage(s.Type)))
			}
			fmt.Fprintf(&b, "| [%s](%s) | `%s` | %s |\n", text(ct.Name), credentialPage(ct.ID), ct.ID, strings.Join(users, ", "))
		}
	}
	return []byte(b.String())
}

func knownCategory(c nodes.Category) bool {
	for _, k := range categories {
		if k.id == c {
			return true
		}
	}
	return false
}

func renderNode(versions []nodes.Spec, creds map[string]nodes.CredentialType) []byte {
	var b strings.Builder
	b.WriteString(generated)
	for i, s := range versions {
		if i == 0 {
			fmt.Fprintf(&b, "# %s\n\n", text(s.Name))
		} else {
			fmt.Fprintf(&b, "\n---\n\n# %s, version %d\n\n", text(s.Name), s.Version)
		}
		renderVersion(&b, s, creds)
	}
	return []byte(b.String())
}

func renderVersion(b *strings.Builder, s nodes.Spec, creds map[string]nodes.CredentialType) {
	fmt.Fprintf(b, "%s\n\n", text(s.Description))
	fmt.Fprintf(b, "- **Type:** `%s`\n- **Version:** %d\n- **Category:** %s\n", s.Type, s.Version, s.Category)
	kind := "step"
	if s.Trigger {
		kind = "trigger: starts runs"
	}
	if s.Webhook {
		kind += "; accepts HTTP calls at `/hooks/{flowId}`"
	}
	if s.SideEffect {
		kind += "; changes something outside Ferry, so test runs show the request it would send instead"
	}
	fmt.Fprintf(b, "- **Kind:** %s\n", kind)

	b.WriteString("\n## Ports\n\n")
	if len(s.Inputs) == 0 {
		b.WriteString("Inputs: none (a trigger).\n\n")
	} else {
		b.WriteString("Inputs:\n\n")
		for _, p := range s.Inputs {
			fmt.Fprintf(b, "- `%s`: %s\n", p.ID, text(p.Label))
		}
		b.WriteString("\n")
	}
	b.WriteString("Outputs:\n\n")
	for _, p := range s.Outputs {
		fmt.Fprintf(b, "- `%s`: %s\n", p.ID, text(p.Label))
	}
	if d := s.Dynamic; d != nil {
		label := ""
		if d.LabelField != "" {
			label = fmt.Sprintf(", labelled by its `%s`", d.LabelField)
		}
		fmt.Fprintf(b, "- one port per row of `%s`, its id taken from the row's `%s`%s\n", d.Param, d.PortField, label)
		for _, p := range d.Fixed {
			fmt.Fprintf(b, "- `%s`: %s\n", p.ID, text(p.Label))
		}
	}
	fmt.Fprintf(b, "- `%s`: Error, followed with the error as data when the step fails for good and the port is connected\n", nodes.ErrorPort)

	b.WriteString("\n## Parameters\n\n")
	if len(s.Params) == 0 {
		b.WriteString("None.\n")
	}
	renderFields(b, s.Params, "", "###")

	b.WriteString("\n## Credentials\n\n")
	if len(s.Credentials) == 0 {
		b.WriteString("None.\n")
	} else {
		if s.CredentialRequired {
			b.WriteString("Required: a flow must name a credential of one of these types.\n\n")
		} else {
			b.WriteString("Optional: a credential of one of these types.\n\n")
		}
		for _, id := range s.Credentials {
			ct, ok := creds[id]
			if !ok {
				fmt.Fprintf(b, "- `%s` (not registered)\n", id)
				continue
			}
			fmt.Fprintf(b, "- [%s](%s) (`%s`): %s\n", text(ct.Name), credentialPage(id), id, fieldSummary(ct.Fields))
		}
	}

	if docs := strings.TrimSpace(s.Docs); docs != "" {
		fmt.Fprintf(b, "\n## Details\n\n%s\n", docs)
	}
}

// fieldSummary lists a credential type's fields on one line: `name` (Label, secret).
func fieldSummary(fields []nodes.Field) string {
	var parts []string
	var walk func(fields []nodes.Field, prefix string)
	walk = func(fields []nodes.Field, prefix string) {
		for _, f := range fields {
			var tags []string
			if f.Required {
				tags = append(tags, "required")
			}
			if f.Secret {
				tags = append(tags, "secret")
			}
			extra := ""
			if len(tags) > 0 {
				extra = ", " + strings.Join(tags, ", ")
			}
			parts = append(parts, fmt.Sprintf("`%s` (%s%s)", prefix+f.Name, text(f.Label), extra))
			walk(f.Fields, prefix+f.Name+".")
		}
	}
	walk(fields, "")
	if len(parts) == 0 {
		return "no fields"
	}
	return "fields " + strings.Join(parts, ", ")
}

func renderCredential(ct nodes.CredentialType, usedBy []nodes.Spec) []byte {
	var b strings.Builder
	b.WriteString(generated)
	fmt.Fprintf(&b, "# %s\n\n", text(ct.Name))
	if ct.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", text(ct.Description))
	}
	fmt.Fprintf(&b, "- **Credential type:** `%s`\n", ct.ID)
	if ct.OAuth2 != nil {
		grant := ct.OAuth2.Grant
		switch grant {
		case nodes.GrantAuthorizationCode:
			grant = "authorization code: an admin consents once at the provider; the refresh token renews the access token"
		case nodes.GrantClientCredentials:
			grant = "client credentials: the client id and secret obtain access tokens"
		}
		fmt.Fprintf(&b, "- **OAuth 2.0:** %s\n", grant)
		if ct.OAuth2.AuthURL != "" {
			fmt.Fprintf(&b, "- **Authorisation URL:** %s\n", code(ct.OAuth2.AuthURL))
		}
		if ct.OAuth2.TokenURL != "" {
			fmt.Fprintf(&b, "- **Token URL:** %s\n", code(ct.OAuth2.TokenURL))
		}
	}
	if ct.Inbound {
		b.WriteString("- **Inbound only:** it verifies incoming requests and is never handed to a step that sends one\n")
	}
	if ct.Testable {
		b.WriteString("- **Test connection:** available\n")
	}
	if ct.HasDefaultDestinations {
		b.WriteString("- **Destinations:** the provider's API hosts unless an admin lists others\n")
	} else {
		b.WriteString("- **Destinations:** an admin must list where it may be sent\n")
	}
	if l := ct.RateLimit; l != nil && l.Enabled() {
		fmt.Fprintf(&b, "- **Rate limit:** %s requests per second, bursts of %d\n",
			strconv.FormatFloat(l.Rate, 'f', -1, 64), max(l.Burst, 1))
	}
	b.WriteString("\n## Fields\n\n")
	if len(ct.Fields) == 0 {
		b.WriteString("None.\n")
	}
	renderFields(&b, ct.Fields, "", "###")
	b.WriteString("\n## Used by\n\n")
	if len(usedBy) == 0 {
		b.WriteString("No node (it is used by the server itself, or by nodes outside this build).\n")
	}
	for _, s := range usedBy {
		fmt.Fprintf(&b, "- [%s](../%s) (`%s`)\n", text(s.Name), nodePage(s.Type), s.Type)
	}
	return []byte(b.String())
}

// renderFields writes one section per field, the rows of a list field after it with their full path.
func renderFields(b *strings.Builder, fields []nodes.Field, prefix, heading string) {
	for _, f := range fields {
		p := prefix + f.Name
		fmt.Fprintf(b, "%s `%s`: %s\n\n", heading, p, text(f.Label))
		attrs := []string{"`" + string(f.Type) + "`"}
		if f.Required {
			attrs = append(attrs, "required")
		}
		if f.Default != nil {
			attrs = append(attrs, "default "+code(jsonText(f.Default)))
		}
		if f.Secret {
			attrs = append(attrs, "secret (write-only, redacted)")
		}
		if f.Inbound {
			attrs = append(attrs, "inbound (only for verifying incoming requests)")
		}
		if f.Expression && f.Type != nodes.TypeExpr {
			attrs = append(attrs, "may interpolate `{{ … }}`")
		}
		if f.LoadOptions {
			attrs = append(attrs, "choices listed from the account with the step's credential")
		}
		if len(f.OptionsDependOn) > 0 {
			names := make([]string, len(f.OptionsDependOn))
			for i, n := range f.OptionsDependOn {
				names[i] = "`" + n + "`"
			}
			attrs = append(attrs, "choices depend on "+strings.Join(names, ", "))
		}
		if f.ExprResult != "" {
			attrs = append(attrs, "result "+code(f.ExprResult))
		}
		if f.Advanced {
			attrs = append(attrs, "advanced")
		}
		if f.Display != "" {
			attrs = append(attrs, "shown as a "+string(f.Display))
		}
		fmt.Fprintf(b, "%s\n\n", strings.Join(attrs, " · "))
		if f.Description != "" {
			fmt.Fprintf(b, "%s\n\n", text(f.Description))
		}
		if len(f.ShowIf) > 0 {
			var conds []string
			for _, k := range sortedKeys(f.ShowIf) {
				var vals []string
				for _, v := range f.ShowIf[k] {
					vals = append(vals, code(jsonText(v)))
				}
				conds = append(conds, fmt.Sprintf("`%s` is %s", prefix+k, strings.Join(vals, " or ")))
			}
			fmt.Fprintf(b, "Shown only when %s.\n\n", strings.Join(conds, " and "))
		}
		if len(f.Options) > 0 {
			b.WriteString("Options:\n\n")
			for _, o := range f.Options {
				line := fmt.Sprintf("- %s: %s", code(o.Value), text(o.Label))
				if o.Description != "" {
					line += ". " + text(o.Description)
				}
				b.WriteString(line + "\n")
			}
			b.WriteString("\n")
		}
		if len(f.Examples) > 0 {
			b.WriteString("Examples:\n\n")
			for _, e := range f.Examples {
				renderExample(b, e)
			}
			b.WriteString("\n")
		}
		if len(f.Fields) > 0 {
			fmt.Fprintf(b, "Each row of `%s` has the fields below.\n\n", p)
			renderFields(b, f.Fields, p+".", heading+"#")
		}
	}
}

// renderExample writes an example as a list item: a short value inline, a longer or multi-line one in a code
// block (JSON indented).
func renderExample(b *strings.Builder, e nodes.Example) {
	s, isString := e.Value.(string)
	if !isString {
		s = jsonText(e.Value)
	}
	if len(s) <= 80 && !strings.Contains(s, "\n") {
		fmt.Fprintf(b, "- %s: %s\n", text(e.Name), code(s))
		return
	}
	lang := ""
	if !isString {
		lang = "json"
		var pretty bytes.Buffer
		if json.Indent(&pretty, []byte(s), "", "  ") == nil {
			s = pretty.String()
		}
	}
	fence := "```"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	fmt.Fprintf(b, "- %s:\n\n  %s%s\n  %s\n  %s\n", text(e.Name), fence, lang, strings.ReplaceAll(s, "\n", "\n  "), fence)
}

// jsonText is v as compact JSON, map keys sorted (encoding/json sorts them), without HTML escaping.
func jsonText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// code is s as an inline code span, with a fence longer than any run of backticks in it.
func code(s string) string {
	if s == "" {
		return "`\"\"`"
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// markdownEscaper escapes what a spec's plain text (labels, descriptions) could otherwise turn into markup:
// emphasis, links, code spans, HTML such as "Bearer <token>", and table cells.
var markdownEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`, "|", `\|`)

// text is a spec's plain text, escaped for Markdown, on one line.
func text(s string) string {
	return markdownEscaper.Replace(strings.Join(strings.Fields(s), " "))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Write renders the reference into dir, creating it, and removes the Markdown files there that the registry no
// longer produces (a node type that is gone), so dir holds exactly the reference.
func Write(dir string) error {
	files := Files()
	for name, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(full), err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", full, err)
		}
	}
	existing, err := markdownFiles(dir)
	if err != nil {
		return err
	}
	for _, name := range existing {
		if _, ok := files[name]; !ok {
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
				return fmt.Errorf("remove %s: %w", name, err)
			}
		}
	}
	return nil
}

// Compare lists, sorted, every Markdown file of the reference in dir that differs from the one in fresh (a
// directory Write just filled), is missing from dir, or is in dir but not generated; each is named as dir/path.
// An empty list means dir is current.
func Compare(fresh, dir string) ([]string, error) {
	want, err := markdownFiles(fresh)
	if err != nil {
		return nil, err
	}
	have, err := markdownFiles(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	generated := map[string]bool{}
	for _, name := range want {
		generated[name] = true
	}
	var stale []string
	seen := map[string]bool{}
	for _, name := range have {
		seen[name] = true
		shown := path.Join(filepath.ToSlash(dir), name)
		if !generated[name] {
			stale = append(stale, shown+": not generated (its node or credential type is gone): delete it")
			continue
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", shown, err)
		}
		data, err := os.ReadFile(filepath.Join(fresh, filepath.FromSlash(name)))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if !bytes.Equal(got, data) {
			stale = append(stale, shown+": differs from the registry")
		}
	}
	for _, name := range want {
		if !seen[name] {
			stale = append(stale, path.Join(filepath.ToSlash(dir), name)+": missing")
		}
	}
	sort.Strings(stale)
	return stale, nil
}

// markdownFiles lists the .md files under dir as slash-separated paths relative to it.
func markdownFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".md") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	sort.Strings(out)
	return out, nil
}
