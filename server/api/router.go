package api

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/gofiber/fiber/v3/middleware/recover"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ferry-hq/ferry/server/auth"
	"github.com/ferry-hq/ferry/server/metrics"
	"github.com/ferry-hq/ferry/server/runner"
	"github.com/ferry-hq/ferry/server/settings"
	"github.com/ferry-hq/ferry/server/store"
	"github.com/ferry-hq/ferry/server/vault"
)

// Permission is what a caller must hold to use a route. Every route declares one (I6); the role that grants
// each is decided in one place by the auth layer.
type Permission string

// Permissions used by the route table.
const (
	PermPublic           Permission = "public"            // anyone: health, webhooks (which authenticate themselves)
	PermFlowsRead        Permission = "flows:read"        // see flows, versions, the node catalog
	PermFlowsWrite       Permission = "flows:write"       // create, edit, import, delete and test-run flows
	PermFlowsPublish     Permission = "flows:publish"     // publish, pause, roll back
	PermRunsRead         Permission = "runs:read"         // see runs and their steps
	PermRunsOperate      Permission = "runs:operate"      // start, retry, replay, cancel runs
	PermMetricsRead      Permission = "metrics:read"      // scrape Prometheus metrics
	PermCredentialsRead  Permission = "credentials:read"  // list credentials (names and which fields are set, never values)
	PermCredentialsWrite Permission = "credentials:write" // create, replace and delete credentials
	PermUsersManage      Permission = "users:manage"      // users, everyone's tokens, roles
	PermAuditRead        Permission = "audit:read"        // read the audit log
	PermSettingsManage   Permission = "settings:manage"   // read and change Ferry's settings
	PermSelf             Permission = "self"              // any signed-in user: who am I, sign out, own password and tokens
)

// Route is one entry of the route table: the single place that says what exists, who may call it and how it
// is documented in the OpenAPI description.
type Route struct {
	Method     string
	Path       string
	Permission Permission
	Tag        string
	Summary    string
	// Request and Response name schemas of the OpenAPI document ("" for none).
	Request  string
	Response string
	// Status is the success status (200 when 0).
	Status int
	Query  []QueryParam
	// TestSecret admits, besides callers holding Permission, anyone presenting the flow's test secret (in the
	// path's :secret or the X-Ferry-Test-Secret header); a caller with neither a sign-in nor the secret gets the
	// answer of an unknown flow.
	TestSecret bool
	Handler    fiber.Handler
}

// QueryParam documents a query parameter of a route.
type QueryParam struct {
	Name        string
	Description string
}

// API holds the dependencies of every handler.
type API struct {
	Store   store.Store
	Runner  *runner.Runner
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Version is the build version shown by /api/v1/version.
	Version string
	// FlowsChanged is called after a publish, pause or delete, so schedules are reloaded.
	FlowsChanged func()
	// Ready adds checks to /readyz beyond the store (Redis, when configured).
	Ready map[string]func(context.Context) error
	// BodyLimit bounds request bodies, webhooks included.
	BodyLimit int
	// Credentials is the credential vault.
	Credentials *vault.Credentials
	// Web is the built single-page app served at /.
	Web fs.FS
	// Auth authenticates callers and decides what their role may do; every non-public route goes through it.
	Auth *auth.Service
	// SecureCookies marks session cookies Secure even when the request arrived over plain HTTP (behind a proxy
	// that terminates TLS); over HTTPS they always are.
	SecureCookies bool
	// TrustedProxies are the addresses and CIDR ranges of the reverse proxies in front of Ferry. A request from
	// one of them is taken to come from the address its X-Forwarded-For header names (see clientAddress);
	// with none, the header is ignored and the client is the connection's peer.
	TrustedProxies []string
	// Masker hides personal data in run data for callers who may not reveal it; nil shows everything.
	Masker *auth.Masker
	// Settings are the runtime settings GET/PUT /api/v1/settings read and change; nil answers 503 there.
	Settings *settings.Runtime
	// SystemOnly serves only the system routes (health, readiness, metrics, version): a worker process needs
	// nothing else.
	SystemOnly bool
}

// Routes is the route table.
func (a *API) Routes() []Route {
	flowQuery := []QueryParam{{"search", "substring of the flow name"}, {"status", "draft, published or paused"}}
	runQuery := []QueryParam{{"flow", "flow id"}, {"parent", "a run id: list the child runs its split started"}, {"status", "comma-separated statuses"}, {"mode", "live or test"},
		{"businessKey", "exact business key, such as an order number"}, {"since", "RFC 3339 time, inclusive"},
		{"until", "RFC 3339 time, exclusive"}, {"cursor", "nextCursor of the previous page"}, {"limit", "page size, at most 500"}}
	routes := []Route{
		{Method: "GET", Path: "/healthz", Permission: PermPublic, Tag: "system", Summary: "Liveness: the process answers", Response: "Status", Handler: a.healthz},
		{Method: "GET", Path: "/readyz", Permission: PermPublic, Tag: "system", Summary: "Readiness: the store (and Redis when configured) answer", Response: "Status", Handler: a.readyz},
		{Method: "GET", Path: "/metrics", Permission: PermMetricsRead, Tag: "system", Summary: "Prometheus metrics", Handler: a.metrics()},
		{Method: "GET", Path: "/api/v1/openapi.json", Permission: PermPublic, Tag: "system", Summary: "This API's OpenAPI 3.1 description", Handler: a.openAPI},
		{Method: "GET", Path: "/api/v1/version", Permission: PermPublic, Tag: "system", Summary: "Build version and flow schema version", Response: "Version", Handler: a.version},

		{Method: "GET", Path: "/api/v1/nodes", Permission: PermFlowsRead, Tag: "catalog", Summary: "The node catalog: every node type's spec", Response: "NodeCatalog", Handler: a.listNodes},
		{Method: "GET", Path: "/api/v1/functions", Permission: PermFlowsRead, Tag: "catalog", Summary: "Functions available in expressions", Response: "FunctionList", Handler: a.listFunctions},
		{Method: "POST", Path: "/api/v1/validate", Permission: PermFlowsRead, Tag: "flows", Summary: "Validate a flow document without saving it", Request: "FlowDocument", Response: "Validation", Handler: a.validate},

		{Method: "GET", Path: "/api/v1/flows", Permission: PermFlowsRead, Tag: "flows", Summary: "List flows", Response: "FlowList", Query: flowQuery, Handler: a.listFlows},
		{Method: "POST", Path: "/api/v1/flows", Permission: PermFlowsWrite, Tag: "flows", Summary: "Create a flow from a flow document", Request: "FlowDocument", Response: "Flow", Status: 201, Handler: a.createFlow},
		{Method: "POST", Path: "/api/v1/flows/import", Permission: PermFlowsWrite, Tag: "flows", Summary: "Import an exported flow document, optionally publishing it (?publish=true); all or nothing", Request: "FlowDocument", Response: "Flow", Status: 201, Query: []QueryParam{{"publish", "publish the imported flow at once"}}, Handler: a.importFlow},
		{Method: "GET", Path: "/api/v1/flows/:id", Permission: PermFlowsRead, Tag: "flows", Summary: "Get a flow with its draft document", Response: "Flow", Handler: a.getFlow},
		{Method: "PUT", Path: "/api/v1/flows/:id", Permission: PermFlowsWrite, Tag: "flows", Summary: "Save the draft; send If-Match with the revision you edited to avoid overwriting someone else's save", Request: "FlowDocument", Response: "Flow", Handler: a.saveFlow},
		{Method: "DELETE", Path: "/api/v1/flows/:id", Permission: PermFlowsWrite, Tag: "flows", Summary: "Delete a flow with its versions and runs", Status: 204, Handler: a.deleteFlow},
		{Method: "POST", Path: "/api/v1/flows/:id/publish", Permission: PermFlowsPublish, Tag: "flows", Summary: "Publish the draft as a new immutable version", Request: "PublishRequest", Response: "FlowVersion", Status: 201, Handler: a.publishFlow},
		{Method: "POST", Path: "/api/v1/flows/:id/pause", Permission: PermFlowsPublish, Tag: "flows", Summary: "Pause a published flow: webhooks answer 503 so providers retry later, schedules stop", Response: "Flow", Handler: a.pauseFlow},
		{Method: "POST", Path: "/api/v1/flows/:id/resume", Permission: PermFlowsPublish, Tag: "flows", Summary: "Resume a paused flow", Response: "Flow", Handler: a.resumeFlow},
		{Method: "GET", Path: "/api/v1/flows/:id/versions", Permission: PermFlowsRead, Tag: "flows", Summary: "List published versions", Response: "FlowVersionList", Handler: a.listVersions},
		{Method: "GET", Path: "/api/v1/flows/:id/versions/:version", Permission: PermFlowsRead, Tag: "flows", Summary: "Get one published version", Response: "FlowVersion", Handler: a.getVersion},
		{Method: "POST", Path: "/api/v1/flows/:id/versions/:version/rollback", Permission: PermFlowsPublish, Tag: "flows", Summary: "Publish an older version again", Response: "Flow", Handler: a.rollback},
		{Method: "GET", Path: "/api/v1/flows/:id/export", Permission: PermFlowsRead, Tag: "flows", Summary: "Export the draft, or a version with ?version=N, as a flow document", Response: "FlowDocument", Query: []QueryParam{{"version", "published version to export"}}, Handler: a.exportFlow},
		{Method: "POST", Path: "/api/v1/flows/:id/test", Permission: PermFlowsWrite, Tag: "runs", Summary: "Test-run the draft (or a document sent along) with a sample payload; side-effecting nodes only report what they would send", Request: "TestRequest", Response: "RunDetail", Handler: a.testFlow},
		{Method: "POST", Path: "/api/v1/flows/:id/run", Permission: PermRunsOperate, Tag: "runs", Summary: "Start a live run of the published version from its manual trigger", Request: "ManualRunRequest", Response: "Run", Status: 202, Handler: a.manualRun},

		{Method: "GET", Path: "/api/v1/runs", Permission: PermRunsRead, Tag: "runs", Summary: "List runs, newest first, with filters and cursor pagination", Response: "RunList", Query: runQuery, Handler: a.listRuns},
		{Method: "GET", Path: "/api/v1/runs/:id", Permission: PermRunsRead, Tag: "runs", Summary: "Get a run with every step's input, output, status and duration", Response: "RunDetail", Handler: a.getRun},
		{Method: "POST", Path: "/api/v1/runs/:id/retry", Permission: PermRunsOperate, Tag: "runs", Summary: "Retry a failed run from its failed step", Response: "Run", Status: 202, Handler: a.retryRun},
		{Method: "POST", Path: "/api/v1/runs/:id/replay", Permission: PermRunsOperate, Tag: "runs", Summary: "Start a new run with this run's original trigger payload (?current=true: on the current published version)", Response: "Run", Status: 202, Query: []QueryParam{{"current", "run the currently published version instead of the original one"}}, Handler: a.replayRun},
		{Method: "GET", Path: "/api/v1/reviews", Permission: PermRunsRead, Tag: "runs", Summary: "List reviews (runs parked for a person's decision), newest first; status open (default), decided, timed_out, cancelled or all", Response: "ReviewList", Query: []QueryParam{{"status", "open (default), decided, timed_out, cancelled or all"}, {"flowId", "only this flow's reviews"}, {"runId", "only this run's reviews"}, {"kind", "only reviews of this kind (approval, crm.conflict, crm.match)"}, {"assignee", "me: only the reviews the caller may decide"}, {"cursor", "nextCursor of the previous page"}, {"limit", "1 to 200, default 50"}, {"reveal", "true: personal data unmasked (runs:reveal)"}}, Handler: a.listReviews},
		{Method: "GET", Path: "/api/v1/reviews/:id", Permission: PermRunsRead, Tag: "runs", Summary: "Get a review: what is asked and, once decided, the decision", Response: "Review", Query: []QueryParam{{"reveal", "true: personal data unmasked (runs:reveal)"}}, Handler: a.getReview},
		{Method: "POST", Path: "/api/v1/reviews/:id/decision", Permission: PermRunsRead, Tag: "runs", Summary: "Decide an open review; its run resumes with the decision (an approval: only its assignees and admins, else 403 approval_not_assignee; other reviews: runs:operate; 409 review_closed when it was decided, timed out or cancelled first)", Request: "ReviewDecision", Response: "Review", Handler: a.decideReview},
		{Method: "POST", Path: "/api/v1/events", Permission: PermRunsOperate, Tag: "runs", Summary: "Deliver an event: every run waiting for its name and key (core.wait-event) resumes, once; a duplicate (same name and id) or an event after the wait's timeout resumes nothing", Request: "EventRequest", Response: "EventDelivered", Handler: a.postEvent},
		{Method: "POST", Path: "/api/v1/runs/:id/cancel", Permission: PermRunsOperate, Tag: "runs", Summary: "Cancel a queued, waiting or running run", Response: "Run", Handler: a.cancelRun},

		{Method: "GET", Path: "/api/v1/credential-types", Permission: PermFlowsRead, Tag: "credentials", Summary: "Credential types and their fields", Response: "CredentialTypeList", Handler: a.listCredentialTypes},
		{Method: "GET", Path: "/api/v1/credentials", Permission: PermCredentialsRead, Tag: "credentials", Summary: "List credentials: names, types and which fields are set, never secret values", Response: "CredentialList", Handler: a.listCredentials},
		{Method: "POST", Path: "/api/v1/credentials", Permission: PermCredentialsWrite, Tag: "credentials", Summary: "Create a credential; its secrets are encrypted and never returned", Request: "CredentialRequest", Response: "Credential", Status: 201, Handler: a.createCredential},
		{Method: "GET", Path: "/api/v1/credentials/:id", Permission: PermCredentialsRead, Tag: "credentials", Summary: "Get a credential without its secrets", Response: "Credential", Handler: a.getCredential},
		{Method: "PUT", Path: "/api/v1/credentials/:id", Permission: PermCredentialsWrite, Tag: "credentials", Summary: "Replace a credential's name and fields", Request: "CredentialRequest", Response: "Credential", Handler: a.replaceCredential},
		{Method: "DELETE", Path: "/api/v1/credentials/:id", Permission: PermCredentialsWrite, Tag: "credentials", Summary: "Delete a credential", Status: 204, Handler: a.deleteCredential},
		{Method: "POST", Path: "/api/v1/credentials/:id/test", Permission: PermCredentialsWrite, Tag: "credentials", Summary: "Check a credential against its provider (live fields, or ?variant=test); answers {ok, message}, never a secret", Response: "CredentialTest", Query: []QueryParam{{"variant", "live (default) or test"}}, Handler: a.testCredential},
		{Method: "POST", Path: "/api/v1/credentials/:id/oauth2/authorize", Permission: PermCredentialsWrite, Tag: "credentials", Summary: "Start OAuth2 authorisation: answers the provider URL to send the admin to (valid 10 minutes)", Response: "OAuth2Authorization", Query: []QueryParam{{"variant", "live (default) or test"}}, Handler: a.authorizeCredential},

		{Method: "GET", Path: "/api/v1/setup", Permission: PermPublic, Tag: "auth", Summary: "Whether Ferry still needs its first admin", Response: "SetupStatus", Handler: a.setupStatus},
		{Method: "POST", Path: "/api/v1/setup", Permission: PermPublic, Tag: "auth", Summary: "Create the first admin (only while Ferry has no user); answers with a first API token, shown once", Request: "Credentials", Response: "SetupResult", Status: 201, Handler: a.setup},
		{Method: "POST", Path: "/api/v1/auth/login", Permission: PermPublic, Tag: "auth", Summary: "Sign in with e-mail and password: sets the session and CSRF cookies", Request: "Credentials", Response: "Login", Handler: a.login},
		{Method: "POST", Path: "/api/v1/auth/logout", Permission: PermSelf, Tag: "auth", Summary: "Sign out of this session", Status: 204, Handler: a.logout},
		{Method: "GET", Path: "/api/v1/auth/me", Permission: PermSelf, Tag: "auth", Summary: "Who is calling, with which role", Response: "Me", Handler: a.me},
		{Method: "POST", Path: "/api/v1/auth/password", Permission: PermSelf, Tag: "auth", Summary: "Change your password: signs you out everywhere and revokes your API tokens (keepTokens: true keeps them); answers how many were revoked", Request: "PasswordChange", Response: "PasswordChanged", Handler: a.changePassword},
		{Method: "GET", Path: "/api/v1/users", Permission: PermUsersManage, Tag: "auth", Summary: "List users", Response: "UserList", Handler: a.listUsers},
		{Method: "POST", Path: "/api/v1/users", Permission: PermUsersManage, Tag: "auth", Summary: "Create a user with a role", Request: "UserCreate", Response: "User", Status: 201, Handler: a.createUser},
		{Method: "PATCH", Path: "/api/v1/users/:id", Permission: PermUsersManage, Tag: "auth", Summary: "Change a user's name, role or disabled flag", Request: "UserChange", Response: "User", Handler: a.updateUser},
		{Method: "POST", Path: "/api/v1/users/:id/password", Permission: PermUsersManage, Tag: "auth", Summary: "Set a user's password (a reset): signs them out and revokes their API tokens (keepTokens: true keeps them); answers how many were revoked", Request: "PasswordReset", Response: "PasswordChanged", Handler: a.resetPassword},
		{Method: "GET", Path: "/api/v1/tokens", Permission: PermSelf, Tag: "auth", Summary: "Your API tokens (?all=true: everyone's, for admins); never the tokens themselves", Response: "TokenList", Query: []QueryParam{{"all", "every user's tokens (admins only)"}}, Handler: a.listTokens},
		{Method: "POST", Path: "/api/v1/tokens", Permission: PermSelf, Tag: "auth", Summary: "Create an API token with a role no higher than yours; the token is shown once", Request: "TokenCreate", Response: "TokenCreated", Status: 201, Handler: a.createToken},
		{Method: "DELETE", Path: "/api/v1/tokens/:id", Permission: PermSelf, Tag: "auth", Summary: "Revoke a token (yours, or anyone's for admins)", Status: 204, Handler: a.revokeToken},
		{Method: "GET", Path: "/api/v1/webhook-rejections", Permission: PermAuditRead, Tag: "webhooks", Summary: "Webhook calls a flow's trigger refused (forged or stale signatures, wrong tokens, malformed bodies), newest first, with the reason", Response: "RejectionList", Query: []QueryParam{{"flow", "flow id"}, {"code", "the refusal's code, such as webhook_signature_invalid"}, {"cursor", "nextCursor of the previous page"}, {"limit", "page size, at most 500"}}, Handler: a.listRejections},
		{Method: "GET", Path: "/api/v1/audit", Permission: PermAuditRead, Tag: "auth", Summary: "The audit log, newest first", Response: "AuditList", Query: []QueryParam{{"action", "exact action, or a prefix ending in a dot (flow.)"}, {"actor", "user id"}, {"targetType", "flow, credential, user, token"}, {"target", "target id"}, {"since", "RFC 3339 time"}, {"until", "RFC 3339 time"}, {"cursor", "nextCursor of the previous page"}, {"limit", "page size, at most 500"}}, Handler: a.listAudit},

		{Method: "ALL", Path: "/hooks/:flowId", Permission: PermPublic, Tag: "webhooks", Summary: "Webhook of a published flow; authenticated by the flow's webhook trigger", Response: "WebhookAccepted", Status: 202, Handler: a.webhook(false)},
		{Method: "ALL", Path: "/hooks/:flowId/test", Permission: PermFlowsWrite, TestSecret: true, Tag: "webhooks", Summary: "Test webhook: runs the flow's draft in test mode and answers with the run; for editors (flows:write), or anyone sending the flow's test secret in " + TestSecretHeader, Response: "RunDetail", Handler: a.webhook(true)},
		{Method: "ALL", Path: "/hooks/:flowId/test/:secret", Permission: PermFlowsWrite, TestSecret: true, Tag: "webhooks", Summary: "Test webhook with the flow's test secret in the path, for senders that can neither sign in nor add headers (payment providers' sandboxes)", Response: "RunDetail", Handler: a.webhook(true)},

		{Method: "GET", Path: OAuth2CallbackPath, Permission: PermPublic, Tag: "credentials", Summary: "Where an OAuth2 provider sends the admin back: checks the one-time state, stores the tokens, shows a page", Query: []QueryParam{{"state", "the state sent to the provider"}, {"code", "the authorisation code"}, {"error", "the provider's refusal, if any"}}, Handler: a.oauth2Callback},
	}
	for _, group := range routeGroups {
		routes = append(routes, group(a)...)
	}
	// The web app answers every path no route above claims, so it comes last.
	return append(routes, Route{Method: "GET", Path: "/*", Permission: PermPublic, Tag: "web", Summary: "The web app (single-page; unknown paths serve index.html)", Handler: a.serveWeb})
}

// routeGroups are route tables kept in the file of their handlers (dashboard, settings, templates…); each file
// registers its group in init, and Routes puts them before the web app's catch-all.
var routeGroups []func(a *API) []Route

// App builds the Fiber application with every route of the table.
func (a *API) App() *fiber.App {
	if a.BodyLimit == 0 {
		a.BodyLimit = 4 << 20
	}
	cfg := fiber.Config{
		AppName:      "ferry",
		ErrorHandler: a.handleError,
		BodyLimit:    a.BodyLimit,
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 90 * time.Second,
		IdleTimeout:  120 * time.Second,
		// Values taken from a request (ids, bodies) outlive the handler in caches and runs.
		Immutable: true,
	}
	// The list was validated with the configuration (app.Config.Validate); entries that do not parse are left
	// out here rather than trusted.
	var proxies *proxySet
	if canonical, err := ParseTrustedProxies(a.TrustedProxies); err == nil && len(canonical) > 0 {
		proxies, _ = parseProxies(canonical)
		cfg.TrustProxy = true
		cfg.TrustProxyConfig = fiber.TrustProxyConfig{Proxies: canonical}
		cfg.ProxyHeader = fiber.HeaderXForwardedFor
		cfg.EnableIPValidation = true
	}
	app := fiber.New(cfg)
	app.Use(a.securityHeaders())
	app.Use(recover.New())
	if proxies != nil {
		app.Use(clientAddress(proxies))
	}
	for _, r := range a.Routes() {
		if a.SystemOnly && r.Tag != "system" {
			continue
		}
		if r.Method == "ALL" {
			app.All(r.Path, a.guard(r), r.Handler)
			continue
		}
		app.Add([]string{r.Method}, r.Path, a.guard(r), r.Handler)
	}
	app.Use(func(c fiber.Ctx) error {
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no route for " + c.Method() + " " + c.Path()}
	})
	return app
}

func (a *API) metrics() fiber.Handler {
	if a.Metrics == nil {
		return func(c fiber.Ctx) error { return errNotFound("metrics") }
	}
	return adaptor.HTTPHandler(promhttp.HandlerFor(a.Metrics.Registry, promhttp.HandlerOpts{}))
}
