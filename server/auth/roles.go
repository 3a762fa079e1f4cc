// Package auth decides who may do what: users and their roles, password hashing, sessions with CSRF tokens,
// API tokens for scripts, login throttling, and the audit log of changes. The API asks it one question per
// request (Allowed); the role that grants each permission is decided here and nowhere else (I6).
package auth

import "sort"

// Role is what a user or token may do.
type Role string

// Roles, from most to least powerful.
const (
	// RoleAdmin manages users, tokens, credentials and settings, and may do everything else.
	RoleAdmin Role = "admin"
	// RoleEditor builds flows and templates and may attach credentials to nodes, but never read them.
	RoleEditor Role = "editor"
	// RoleOperator looks after runs: starts, retries, replays and cancels them.
	RoleOperator Role = "operator"
	// RoleViewer reads flows and runs.
	RoleViewer Role = "viewer"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleEditor, RoleOperator, RoleViewer}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { _, ok := grants[r]; return ok }

// Covers reports whether a holder of r may hand out other: every permission of other is also r's.
func (r Role) Covers(other Role) bool {
	if !r.Valid() || !other.Valid() {
		return false
	}
	for p := range grants[other] {
		if !grants[r][p] {
			return false
		}
	}
	return true
}

// Permission names of the route table (server/api); kept as strings so the API's constants and these are the
// same values.
const (
	PermFlowsRead        = "flows:read"
	PermFlowsWrite       = "flows:write"
	PermFlowsPublish     = "flows:publish"
	PermRunsRead         = "runs:read"
	PermRunsOperate      = "runs:operate"
	PermMetricsRead      = "metrics:read"
	PermCredentialsRead  = "credentials:read"
	PermCredentialsWrite = "credentials:write"
	PermUsersManage      = "users:manage"
	PermAuditRead        = "audit:read"
	// PermSettingsManage reads and changes Ferry's settings (retention, personal-data fields…).
	PermSettingsManage = "settings:manage"
	// PermRunsReveal shows run data unmasked (?reveal=true); each reveal is audited.
	PermRunsReveal = "runs:reveal"
	// PermSelf covers what every signed-in user may do to themselves: see who they are, sign out, change their
	// password, and manage their own API tokens.
	PermSelf = "self"
)

// grants is the one table of who may do what.
var grants = map[Role]map[string]bool{
	RoleAdmin: set(PermFlowsRead, PermFlowsWrite, PermFlowsPublish, PermRunsRead, PermRunsOperate, PermMetricsRead,
		PermCredentialsRead, PermCredentialsWrite, PermUsersManage, PermAuditRead, PermRunsReveal, PermSettingsManage, PermSelf),
	RoleEditor:   set(PermFlowsRead, PermFlowsWrite, PermFlowsPublish, PermRunsRead, PermCredentialsRead, PermMetricsRead, PermSelf),
	RoleOperator: set(PermFlowsRead, PermRunsRead, PermRunsOperate, PermRunsReveal, PermMetricsRead, PermSelf),
	RoleViewer:   set(PermFlowsRead, PermRunsRead, PermMetricsRead, PermSelf),
}

func set(perms ...string) map[string]bool {
	m := make(map[string]bool, len(perms))
	for _, p := range perms {
		m[p] = true
	}
	return m
}

// Allowed reports whether role r holds permission perm. This is the one place a permission is checked, so
// workspaces or per-flow grants can be added here later.
func Allowed(r Role, perm string) bool { return grants[r][perm] }

// Permissions lists every permission a role can hold (for the route-table test).
func Permissions() []string {
	var out []string
	for p := range grants[RoleAdmin] {
		out = append(out, p)
	}
	return out
}

// RolePermissions lists what role r holds, sorted, so the web app can show only what the caller may use; the
// server still checks every request.
func RolePermissions(r Role) []string {
	perms := make([]string, 0, len(grants[r]))
	for p := range grants[r] {
		perms = append(perms, p)
	}
	sort.Strings(perms)
	return perms
}
