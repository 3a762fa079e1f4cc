// Shapes of the Ferry API, as described by GET /api/v1/openapi.json.

export type FieldType =
  | 'string' | 'text' | 'number' | 'integer' | 'boolean' | 'select' | 'expression'
  | 'duration' | 'cron' | 'json' | 'keyvalue' | 'list' | 'code';

export interface Option { value: string; label: string; description?: string }
export interface Example { name: string; value: unknown }

export interface Field {
  name: string;
  label: string;
  type: FieldType;
  description?: string;
  default?: unknown;
  required?: boolean;
  secret?: boolean;
  advanced?: boolean;
  expression?: boolean;
  exprResult?: string;
  options?: Option[] | null;
  showIf?: Record<string, unknown[]> | null;
  examples?: Example[] | null;
  fields?: Field[] | null;
  /** language names the language of a 'code' field ("javascript"), for highlighting. */
  language?: string;
  /** display asks for a presentation beyond the type's widget: 'table' shows a list as a table (MappingTable). */
  display?: string;
  /**
   * loadOptions: the choices come from the provider account the step's credential opens, listed by
   * GET /api/v1/nodes/{type}/options/{field}?credential=…; the value may still be an expression.
   */
  loadOptions?: boolean;
  /**
   * optionsDependOn names sibling fields whose values the loaded choices depend on (the stages of the chosen
   * pipeline): they are sent as params, and the choices are listed again when one changes.
   */
  optionsDependOn?: string[] | null;
}

export interface Port { id: string; label: string; kind: 'main' | 'error' }

export interface DynamicPorts { param: string; portField: string; labelField?: string; fixed?: Port[] | null }

export interface NodeSpec {
  type: string;
  version: number;
  name: string;
  category: string;
  description: string;
  trigger?: boolean;
  /** polling triggers fetch changes on an interval and keep a cursor (GET /api/v1/flows/{id}/polling). */
  polling?: boolean;
  sideEffect?: boolean;
  inputs: Port[] | null;
  outputs: Port[] | null;
  dynamicOutputs?: DynamicPorts | null;
  params: Field[] | null;
  credentials?: string[] | null;
  credentialRequired?: boolean;
  docs?: string;
}

export interface Position { x: number; y: number }

export interface FlowNode {
  id: string;
  type: string;
  version?: number;
  name?: string;
  params?: Record<string, unknown>;
  credential?: string;
  position?: Position;
  retry?: unknown;
  notes?: string;
}

export interface FlowEdge { source: string; sourcePort?: string; target: string; targetPort?: string }

export interface FlowDocument {
  schema: number;
  name: string;
  description?: string;
  settings?: Record<string, unknown>;
  nodes: FlowNode[];
  edges: FlowEdge[];
  ui?: unknown;
}

export interface Flow {
  id: string;
  name: string;
  description?: string;
  status: 'draft' | 'published' | 'paused';
  revision: number;
  publishedVersion?: number;
  webhookUrl?: string;
  flow?: FlowDocument;
  createdAt?: string;
  updatedAt?: string;
}

/** TestHook is a flow's test webhook as its editors see it (GET /api/v1/flows/{id}/test-hook). */
export interface TestHook {
  /** url is the test webhook with the secret in its path, relative to the server, like webhookUrl. */
  url: string;
  secret: string;
  /** header is where scripts may send the secret instead (X-Ferry-Test-Secret). */
  header: string;
  createdAt: string;
}

export interface Problem {
  code: string;
  message: string;
  nodeId?: string;
  field?: string;
  line?: number;
  column?: number;
}

export type RunStatus = 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled';

export interface Run {
  id: string;
  flowId: string;
  flowVersion?: number;
  mode: 'live' | 'test';
  status: RunStatus;
  triggerNode?: string;
  trigger?: unknown;
  businessKey?: string;
  attempt?: number;
  error?: unknown;
  response?: unknown;
  replayOf?: string;
  /** parentRunId names the run whose split started this one; childIndex is its item. */
  parentRunId?: string;
  childIndex?: number;
  /** childrenOpen, on a parent waiting for its children, counts those not ended. */
  childrenOpen?: number;
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
}

export interface Step {
  seq: number;
  nodeId: string;
  nodeType?: string;
  attempt?: number;
  status: string;
  port?: string;
  input?: unknown;
  output?: unknown;
  error?: unknown;
  startedAt?: string;
  durationUs?: number;
}

/** RunDetail is a run with its steps; a test run of a draft also carries the document it ran. */
export interface RunDetail extends Run { steps: Step[]; flow?: FlowDocument }

export interface User { id: string; email: string; name?: string; role: string }
/** Me is the caller: their user, role, and the permissions the role holds (to show only what they may use). */
export interface Me { user: User; role: string; via?: string; permissions: string[] }

export interface Credential { id: string; name: string; type: string; status: string }

export interface CredentialType {
  id: string;
  name: string;
  description?: string;
  fields: Field[] | null;
  oauth2?: unknown;
  testable?: boolean;
  /** inbound types only verify incoming webhooks and are never sent. */
  inbound?: boolean;
  /** hasDefaultDestinations: the type sends to its provider's hosts when no destination is listed. */
  hasDefaultDestinations?: boolean;
}

export interface CredentialInfo {
  id: string;
  name: string;
  type: string;
  fields: string[] | null;
  testFields?: string[] | null;
  createdAt?: string;
  updatedAt?: string;
  status: string;
  statusMessage?: string;
  /** allowedDestinations are what an admin listed; defaultDestinations come from the type and live fields. */
  allowedDestinations?: string[] | null;
  defaultDestinations?: string[] | null;
}

export interface TestResult { ok: boolean; message: string }
export interface OAuth2Authorization { url: string; redirectUrl?: string; expiresAt?: string }

export interface UserRecord {
  id: string;
  email: string;
  name?: string;
  role: string;
  disabled: boolean;
  createdAt?: string;
}

export interface TokenInfo {
  id: string;
  name: string;
  userId: string;
  role: string;
  prefix: string;
  expiresAt?: string;
  lastUsedAt?: string;
  revokedAt?: string;
  createdAt?: string;
}

export interface AuditEvent {
  id: string;
  at: string;
  actorType: string;
  actorId?: string;
  actorEmail?: string;
  ip?: string;
  action: string;
  targetType?: string;
  targetId?: string;
  detail?: unknown;
}

export interface WebhookRejection {
  id: string;
  flowId: string;
  receivedAt: string;
  status: number;
  code: string;
  message: string;
  remoteIp?: string;
  bodyBytes: number;
  /** How many refused calls of the same flow, address and code this row stands for, the latest at lastAt. */
  count: number;
  lastAt?: string;
}

/** What a password change or reset did besides changing the password. */
export interface PasswordChanged {
  revokedTokens: number;
  keptTokens: boolean;
}

/** What the flows list shows about a flow's live runs: the newest one and the last 24 hours. */
export interface FlowActivity {
  lastRunId?: string;
  lastStatus?: RunStatus;
  lastRunAt?: string;
  runs24h: number;
  failed24h: number;
}

/** One flow of GET /api/v1/flows. */
export interface FlowListItem extends Flow { activity: FlowActivity }

/** A published, immutable flow version; `flow` is present when one version is fetched. */
export interface FlowVersion {
  flowId: string;
  version: number;
  message?: string;
  createdBy?: string;
  createdAt: string;
  flow?: FlowDocument;
}

/** A text of a bundled template in both UI languages. */
export interface LocalText { en: string; zh: string }

/** A node of a template that takes a credential, with the types it accepts. */
export interface TemplateCredentialNeed {
  nodeId: string;
  nodeName: string;
  nodeType: string;
  types: string[];
  required: boolean;
  hint?: LocalText;
}

/** A template parameter holding an example value the user must replace. */
export interface TemplatePlaceholder { nodeId: string; param: string; hint: LocalText }

/** One bundled template of GET /api/v1/templates; `document` is present when one template is fetched. */
export interface TemplateSummary {
  id: string;
  name: LocalText;
  description: LocalText;
  category: string;
  tags: string[];
  nodeCount: number;
  nodeTypes: string[];
  steps: { id: string; name: string; type: string }[];
  credentials: TemplateCredentialNeed[];
  placeholders: TemplatePlaceholder[];
  document?: FlowDocument;
}

/** A setting's value: a number, text, true/false or a list of names, by its kind. */
export type SettingValue = number | string | boolean | string[];

/** One setting of GET /api/v1/settings, with where its value comes from. */
export interface SettingEntry {
  key: string;
  group: string;
  kind: 'integer' | 'list' | 'enum' | 'string' | 'boolean' | 'duration';
  value: SettingValue;
  default: SettingValue;
  source: 'default' | 'environment' | 'stored';
  editable: boolean;
  env: string;
  /** The environment variable or flag that set the value; it wins over the settings screen. */
  setBy?: string;
  description: string;
  min?: number;
  max?: number;
  maxItems?: number;
  options?: string[];
  updatedBy?: string;
  updatedAt?: string;
}

/** GET/PUT /api/v1/settings: the settings by group, read-only facts, and after a change what it changed. */
export interface SettingsDocument {
  groups: { id: string; settings: SettingEntry[] }[];
  facts: { key: string; value: unknown }[];
  changes?: { key: string; before?: SettingValue; after?: SettingValue }[];
}

/** A polling trigger's cursor: the newest change emitted, and the walk in progress when a poll stopped mid-way. */
export interface PollCursor { time?: string; id?: string; from?: string; token?: string }

/** One polling trigger of GET /api/v1/flows/{id}/polling: where it stopped, its last poll, what it found. */
export interface PollState {
  nodeId: string;
  cursor: PollCursor;
  nextPollAt?: string;
  lastPollAt?: string;
  lastCount: number;
  totalCount: number;
  /** failures is how many polls in a row failed; zero after a poll that worked. */
  failures: number;
  lastError?: { code: string; message: string };
}
