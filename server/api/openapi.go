package api

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v3"

	"github.com/ferry-hq/ferry/flows"
)

var pathParam = regexp.MustCompile(`:([A-Za-z]+)`)

// OpenAPIPath converts a route path to OpenAPI form (/flows/:id → /flows/{id}).
func OpenAPIPath(p string) string { return pathParam.ReplaceAllString(p, "{$1}") }

// OpenAPI builds the OpenAPI 3.1 description from the route table, so the document cannot drift from the
// routes that exist.
func (a *API) OpenAPI() map[string]any {
	paths := map[string]any{}
	for _, r := range a.Routes() {
		path := OpenAPIPath(r.Path)
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		methods := []string{strings.ToLower(r.Method)}
		if r.Method == "ALL" {
			methods = []string{"get", "post", "put", "patch", "delete"}
		}
		for _, m := range methods {
			item[m] = operation(r, m)
		}
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Ferry API", "version": a.Version,
			"description": "Flows, runs, the node catalog and webhooks of a Ferry server. Every error answers " +
				"{\"error\": {\"code\", \"message\", \"problems\"?}} with a stable code."},
		"paths":      paths,
		"components": map[string]any{"schemas": schemas()},
	}
}

func operation(r Route, method string) map[string]any {
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	op := map[string]any{
		"summary":      r.Summary,
		"tags":         []string{r.Tag},
		"operationId":  method + strings.NewReplacer("/", "_", ":", "", "{", "", "}", "", ".", "_").Replace(r.Path),
		"x-permission": string(r.Permission),
	}
	var params []map[string]any
	for _, m := range pathParam.FindAllStringSubmatch(r.Path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, q := range r.Query {
		params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Description, "schema": map[string]any{"type": "string"}})
	}
	if r.TestSecret {
		// Who may call besides the permission's holders, and how they prove it.
		op["x-test-secret"] = true
		op["description"] = "Callers sign in (session or API token) with " + string(r.Permission) + ", or send the flow's test secret " +
			"(GET /api/v1/flows/{id}/test-hook) in the path or the " + TestSecretHeader + " header. Without either, the answer " +
			"is 404 " + CodeWebhookNotFound + ", as for a flow that does not exist."
		if !strings.Contains(r.Path, ":secret") {
			params = append(params, map[string]any{"name": TestSecretHeader, "in": "header", "description": "the flow's test secret",
				"schema": map[string]any{"type": "string"}})
		}
	}
	if params != nil {
		op["parameters"] = params
	}
	if r.Request != "" {
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"application/json": map[string]any{"schema": ref(r.Request)}}}
	}
	ok := map[string]any{"description": http.StatusText(status)}
	if r.Response != "" {
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(r.Response)}}
	}
	op["responses"] = map[string]any{
		strconv.Itoa(status): ok,
		"default":            map[string]any{"description": "An error", "content": map[string]any{"application/json": map[string]any{"schema": ref("Error")}}},
	}
	return op
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func obj(props map[string]any, required ...string) map[string]any {
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		sort.Strings(required)
		o["required"] = required
	}
	return o
}

var (
	str     = map[string]any{"type": "string"}
	integer = map[string]any{"type": "integer"}
	boolean = map[string]any{"type": "boolean"}
	anyJSON = map[string]any{}
	when    = map[string]any{"type": "string", "format": "date-time"}
)

func list(item map[string]any) map[string]any { return map[string]any{"type": "array", "items": item} }

var schemaOnce sync.Once
var schemaDoc map[string]any

func schemas() map[string]any {
	schemaOnce.Do(func() {
		problem := obj(map[string]any{"code": str, "message": str, "nodeId": str, "field": str, "line": integer, "column": integer}, "code", "message")
		run := obj(map[string]any{"id": str, "flowId": str, "flowVersion": integer, "mode": map[string]any{"enum": []string{"live", "test"}},
			"status":      map[string]any{"enum": []string{"queued", "running", "waiting", "succeeded", "failed", "cancelled"}},
			"triggerNode": str, "trigger": anyJSON, "businessKey": str, "dedupKey": str, "attempt": integer, "error": anyJSON,
			"response": anyJSON, "replayOf": str, "availableAt": when, "createdAt": when, "startedAt": when, "finishedAt": when, "durationMs": integer,
			"parentRunId": str, "childIndex": integer, "childrenOpen": integer},
			"id", "flowId", "status", "mode")
		step := obj(map[string]any{"seq": integer, "nodeId": str, "nodeType": str, "attempt": integer, "status": str, "port": str,
			"input": anyJSON, "output": anyJSON, "error": anyJSON, "startedAt": when, "durationUs": integer}, "seq", "nodeId", "status")
		flowDoc := obj(map[string]any{
			"schema": map[string]any{"type": "integer", "const": flows.SchemaVersion}, "name": str, "description": str,
			"settings": obj(map[string]any{"retry": ref("Retry"), "saveData": map[string]any{"enum": []string{"all", "errors", "metadata"}},
				"vars": map[string]any{"type": "object"}, "maxSteps": integer}),
			"nodes": list(obj(map[string]any{"id": str, "type": str, "version": integer, "name": str, "params": map[string]any{"type": "object"},
				"credential": str, "position": obj(map[string]any{"x": map[string]any{"type": "number"}, "y": map[string]any{"type": "number"}}),
				"retry": ref("Retry"), "notes": str}, "id", "type")),
			"edges": list(obj(map[string]any{"source": str, "sourcePort": str, "target": str, "targetPort": str}, "source", "target")),
			"ui":    anyJSON,
		}, "schema", "name", "nodes", "edges")
		flow := obj(map[string]any{"id": str, "name": str, "description": str, "status": map[string]any{"enum": []string{"draft", "published", "paused"}},
			"revision": integer, "publishedVersion": integer, "webhookUrl": str, "flow": ref("FlowDocument"), "createdAt": when, "updatedAt": when},
			"id", "name", "status", "revision")
		version := obj(map[string]any{"flowId": str, "version": integer, "message": str, "createdBy": str, "createdAt": when, "flow": ref("FlowDocument")},
			"flowId", "version")
		schemaDoc = map[string]any{
			"Error": obj(map[string]any{"error": obj(map[string]any{"code": str, "message": str, "problems": list(ref("Problem")),
				"details": map[string]any{"type": "object"}}, "code", "message")}, "error"),
			"Problem":         problem,
			"Status":          obj(map[string]any{"status": str, "checks": map[string]any{"type": "object"}}, "status"),
			"Version":         obj(map[string]any{"version": str, "flowSchema": integer}),
			"Retry":           obj(map[string]any{"maxAttempts": integer, "backoff": str, "maxBackoff": str}),
			"FlowDocument":    flowDoc,
			"Flow":            flow,
			"FlowList":        obj(map[string]any{"flows": list(ref("Flow"))}, "flows"),
			"FlowVersion":     version,
			"FlowVersionList": obj(map[string]any{"versions": list(ref("FlowVersion"))}, "versions"),
			"PublishRequest":  obj(map[string]any{"message": str}),
			"Validation": obj(map[string]any{"valid": boolean, "problems": list(ref("Problem")),
				"waitsFor": map[string]any{"type": "object", "description": "per merge node, per input port, the nodes with an edge into it",
					"additionalProperties": map[string]any{"type": "object", "additionalProperties": list(str)}}}, "valid", "problems"),
			"TestRequest":      obj(map[string]any{"payload": anyJSON, "trigger": str, "flow": ref("FlowDocument")}),
			"ManualRunRequest": obj(map[string]any{"payload": anyJSON, "trigger": str, "businessKey": str}),
			"Run":              run,
			"Step":             step,
			"RunDetail":        map[string]any{"allOf": []any{ref("Run"), obj(map[string]any{"steps": list(ref("Step")), "flow": ref("FlowDocument")}, "steps")}},
			"RunList":          obj(map[string]any{"runs": list(ref("Run")), "nextCursor": str}, "runs"),
			"Review": obj(map[string]any{"id": str, "runId": str, "flowId": str, "flowName": str, "nodeId": str, "nodeType": str,
				"kind":  map[string]any{"type": "string", "description": "what is asked: approval (approve or reject, with a comment; request.assignee says who may), crm.conflict (pick source or target per field), crm.match (pick a candidate or none)"},
				"title": str, "status": map[string]any{"enum": []string{"open", "decided", "timed_out", "cancelled"}},
				"createdAt": when, "timeoutAt": when, "decidedAt": when, "decidedBy": str, "request": anyJSON, "decision": anyJSON},
				"id", "runId", "kind", "status", "request"),
			"ReviewList": obj(map[string]any{"items": list(ref("Review")), "nextCursor": str, "open": integer}, "items"),
			"ReviewDecision": map[string]any{"type": "object", "description": "crm.conflict: {\"fields\": {\"<field>\": \"source\" | \"target\"}}, one choice per field listed; " +
				"crm.match: {\"candidate\": \"<id>\"}, or \"\" for none of them; " +
				"approval: {\"approve\": true | false, \"comment\": \"why\"}"},
			"EventRequest": obj(map[string]any{"name": map[string]any{"type": "string", "description": "the event's name, as core.wait-event names it (payment.paid)"},
				"key":  map[string]any{"type": "string", "description": "the correlation key (an order number)"},
				"id":   map[string]any{"type": "string", "description": "the event's id, so a second delivery is recognised; generated when left out"},
				"data": anyJSON}, "name", "key"),
			"EventDelivered": obj(map[string]any{"id": str, "resumed": list(str), "duplicate": boolean}, "id", "resumed", "duplicate"),
			"WebhookAccepted": obj(map[string]any{"runId": str, "status": str, "duplicate": boolean,
				"runs": list(obj(map[string]any{"runId": str, "status": str, "duplicate": boolean}, "runId"))}, "runId"),
			"NodeCatalog": obj(map[string]any{"nodes": list(map[string]any{"type": "object", "description": "A node spec: type, version, name, category, description, inputs, outputs, dynamicOutputs, params (name, label, type, default, required, secret, advanced, expression, display, options, showIf, examples, fields), credentials, docs."})}, "nodes"),
			"CredentialRequest": obj(map[string]any{"name": str, "type": str, "live": map[string]any{"type": "object", "additionalProperties": str},
				"test": map[string]any{"type": "object", "additionalProperties": str}, "allowedDestinations": list(str)}, "live"),
			"Credential": obj(map[string]any{"id": str, "name": str, "type": str, "fields": list(str), "testFields": list(str), "createdAt": when, "updatedAt": when,
				"status":              map[string]any{"enum": []string{"ok", "authorize", "reauthorize", "failing", "unreadable"}},
				"statusMessage":       str,
				"oauth2":              map[string]any{"type": "object", "additionalProperties": obj(map[string]any{"authorized": boolean, "expiresAt": when, "renewable": boolean, "error": str})},
				"allowedDestinations": list(str), "defaultDestinations": list(str)},
				"id", "name", "type", "fields", "status"),
			"CredentialTest":      obj(map[string]any{"ok": boolean, "message": str}, "ok", "message"),
			"OAuth2Authorization": obj(map[string]any{"url": str, "redirectUrl": str, "expiresAt": when}, "url", "redirectUrl", "expiresAt"),
			"CredentialList":      obj(map[string]any{"credentials": list(ref("Credential"))}, "credentials"),
			"CredentialTypeList":  obj(map[string]any{"types": list(obj(map[string]any{"id": str, "name": str, "description": str, "fields": list(map[string]any{"type": "object"}), "inbound": boolean, "hasDefaultDestinations": boolean}))}, "types"),
			"RejectionList": obj(map[string]any{"rejections": list(obj(map[string]any{"id": str, "flowId": str, "receivedAt": when, "status": integer,
				"code": str, "message": str, "remoteIp": str, "bodyBytes": integer, "count": integer, "lastAt": when}, "id", "flowId", "code", "count")), "nextCursor": str}, "rejections"),
			"SetupStatus": obj(map[string]any{"required": boolean}, "required"),
			"Credentials": obj(map[string]any{"email": str, "password": map[string]any{"type": "string", "format": "password"}}, "email", "password"),
			"User": obj(map[string]any{"id": str, "email": str, "name": str, "role": map[string]any{"enum": []string{"admin", "editor", "operator", "viewer"}},
				"disabled": boolean, "createdAt": when}, "id", "email", "role"),
			"UserList":        obj(map[string]any{"users": list(ref("User"))}, "users"),
			"UserCreate":      obj(map[string]any{"email": str, "name": str, "password": str, "role": str}, "email", "password", "role"),
			"UserChange":      obj(map[string]any{"name": str, "role": str, "disabled": boolean}),
			"PasswordChange":  obj(map[string]any{"currentPassword": str, "newPassword": str, "keepTokens": boolean}, "currentPassword", "newPassword"),
			"PasswordReset":   obj(map[string]any{"password": str, "keepTokens": boolean}, "password"),
			"PasswordChanged": obj(map[string]any{"revokedTokens": integer, "keptTokens": boolean}, "revokedTokens", "keptTokens"),
			"Token": obj(map[string]any{"id": str, "name": str, "userId": str, "role": str, "prefix": str, "expiresAt": when, "lastUsedAt": when,
				"revokedAt": when, "createdAt": when}, "id", "name", "role"),
			"TokenList":    obj(map[string]any{"tokens": list(ref("Token"))}, "tokens"),
			"TokenCreate":  obj(map[string]any{"name": str, "role": str, "expiresAt": when}, "name"),
			"TokenCreated": obj(map[string]any{"token": str, "tokenInfo": ref("Token")}, "token", "tokenInfo"),
			"SetupResult":  obj(map[string]any{"user": ref("User"), "token": str, "tokenInfo": ref("Token")}, "user", "token"),
			"Login":        obj(map[string]any{"user": ref("User"), "csrfToken": str}, "user", "csrfToken"),
			"Me":           obj(map[string]any{"user": ref("User"), "role": str, "via": str, "tokenId": str, "permissions": list(str)}, "user", "role", "permissions"),
			"AuditList": obj(map[string]any{"events": list(obj(map[string]any{"id": str, "at": when, "actorType": str, "actorId": str,
				"actorEmail": str, "ip": str, "action": str, "targetType": str, "targetId": str, "detail": anyJSON})), "nextCursor": str}, "events"),
			"FunctionList": obj(map[string]any{"functions": list(obj(map[string]any{"name": str, "category": str, "signature": str, "description": str, "example": str, "builtin": boolean}))}, "functions"),
		}
		for _, group := range schemaGroups {
			for name, schema := range group() {
				schemaDoc[name] = schema
			}
		}
	})
	return schemaDoc
}

// schemaGroups are OpenAPI schemas kept in the file of the routes that use them; each file registers its group
// in init, next to its routeGroups entry.
var schemaGroups []func() map[string]any

func (a *API) openAPI(c fiber.Ctx) error {
	return ok(c, http.StatusOK, a.OpenAPI())
}
