// Shapes of the Ferry API, as described by GET /api/v1/openapi.json.

export type FieldType =
  | 'string' | 'text' | 'number' | 'integer' | 'boolean' | 'select' | 'expression'
  | 'duration' | 'cron' | 'json' | 'keyvalue' | 'list';

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

export interface RunDetail extends Run { steps: Step[] }

export interface User { id: string; email: string; name?: string; role: string }
export interface Me { user: User; role: string; via?: string }

export interface Credential { id: string; name: string; type: string; status: string }

export interface CredentialType {
  id: string;
  name: string;
  description?: string;
  fields: Field[] | null;
  oauth2?: unknown;
  testable?: boolean;
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
}

export interface TestResult { ok: boolean; message: string }
export interface OAuth2Authorization { url: string; redirectUrl?: string; expiresAt?: string }

export interface UserRecord {
  id: string;
  email: string;
  name?: string;
  role: string;
  disabled: boolean;
  lockedUntil?: string;
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
}
