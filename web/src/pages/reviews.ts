// The reviews API's answers (GET /api/v1/reviews, /api/v1/reviews/{id}) and the pure rules the Reviews screen
// follows to turn an operator's choices into the decision it posts, kept apart from React so they can be tested.
import { ApiError } from '../api/client';

/** ReviewStatus is where a review stands: open until someone decides it, it times out or its run is cancelled. */
export type ReviewStatus = 'open' | 'decided' | 'timed_out' | 'cancelled';

/** REVIEW_STATUSES are the list filter's choices; 'all' shows every status. */
export const REVIEW_STATUSES = ['open', 'decided', 'timed_out', 'cancelled', 'all'] as const;
export type ReviewStatusFilter = (typeof REVIEW_STATUSES)[number];

/** Review is one decision a parked run waits for. request and decision depend on kind. */
export interface Review {
  id: string;
  runId: string;
  flowId: string;
  flowName?: string;
  nodeId: string;
  nodeType?: string;
  kind: string;
  title?: string;
  status: ReviewStatus;
  createdAt: string;
  timeoutAt?: string;
  decidedAt?: string;
  decidedBy?: string | { id?: string; email?: string; name?: string };
  request: unknown;
  decision?: unknown;
}

/** ReviewList is a page of reviews; open counts every open review, whatever the filters. */
export interface ReviewList { items: Review[]; nextCursor?: string; open?: number }

/** Side is the record whose value a field keeps: what the flow sends (source) or what the CRM holds (target). */
export type Side = 'source' | 'target';

/** ConflictField is one field whose value differs between what the flow sends and what the CRM record holds. */
export interface ConflictField { name: string; source: unknown; target: unknown }

/** ConflictRequest is what a crm.conflict review asks about: one record, and every field in dispute. */
export interface ConflictRequest {
  provider: string;
  object: string;
  recordId?: string;
  key?: { name: string; value: unknown };
  fields: ConflictField[];
  /** changed: the record changed at the provider since an earlier review of it, so this is a second look. */
  changed?: boolean;
}

/** ConflictDecision keeps one side per field; every field of the request must be chosen. */
export interface ConflictDecision { fields: Record<string, Side> }

export interface MatchCandidate { id: string; label?: string; fields?: Record<string, unknown> }

/** MatchRequest is what a crm.match review asks about: which of the candidates is this customer, if any. */
export interface MatchRequest {
  provider: string;
  object: string;
  customer?: Record<string, unknown>;
  candidates: MatchCandidate[];
}

/** MatchDecision names the chosen candidate, or '' for none of them (a new record is created). */
export interface MatchDecision { candidate: string }

export const KIND_CONFLICT = 'crm.conflict';
export const KIND_MATCH = 'crm.match';

/** NONE_OF_THESE is the match choice that creates a new record instead of updating a candidate. */
export const NONE_OF_THESE = '';

/** Choices are the sides picked so far in the form, by field name; a field not yet picked is missing. */
export type Choices = Record<string, Side | undefined>;

/** conflictFields reads the fields of a crm.conflict request, tolerating a request without any. */
export function conflictFields(request: unknown): ConflictField[] {
  const fields = (request as Partial<ConflictRequest> | null)?.fields;
  return Array.isArray(fields) ? fields.filter((f) => f && typeof f.name === 'string') : [];
}

/** matchCandidates reads the candidates of a crm.match request, tolerating a request without any. */
export function matchCandidates(request: unknown): MatchCandidate[] {
  const c = (request as Partial<MatchRequest> | null)?.candidates;
  return Array.isArray(c) ? c.filter((x) => x && typeof x.id === 'string') : [];
}

/** chooseAll picks one side for every field, for the "all source" and "all target" buttons. */
export function chooseAll(fields: ConflictField[], side: Side): Choices {
  return Object.fromEntries(fields.map((f) => [f.name, side]));
}

/** missingChoices lists, in the request's order, the fields that have no side yet. */
export function missingChoices(fields: ConflictField[], choices: Choices): string[] {
  return fields.filter((f) => choices[f.name] !== 'source' && choices[f.name] !== 'target').map((f) => f.name);
}

/**
 * conflictDecision turns the form's choices into the decision to post, or null while a field is still missing
 * (the server refuses a partial decision). Choices for names the request does not list are left out.
 */
export function conflictDecision(fields: ConflictField[], choices: Choices): ConflictDecision | null {
  if (fields.length === 0 || missingChoices(fields, choices).length > 0) return null;
  return { fields: Object.fromEntries(fields.map((f) => [f.name, choices[f.name] as Side])) };
}

/**
 * matchDecision turns the picked candidate into the decision to post: a candidate's id, NONE_OF_THESE for a new
 * record, or null while nothing is picked or the pick is not one of the candidates.
 */
export function matchDecision(candidates: MatchCandidate[], picked: string | undefined): MatchDecision | null {
  if (picked === undefined) return null;
  if (picked === NONE_OF_THESE) return { candidate: NONE_OF_THESE };
  return candidates.some((c) => c.id === picked) ? { candidate: picked } : null;
}

/** decidedChoices reads the sides a decided crm.conflict review kept, to show them. */
export function decidedChoices(decision: unknown): Choices {
  const fields = (decision as Partial<ConflictDecision> | null)?.fields;
  if (!fields || typeof fields !== 'object') return {};
  const out: Choices = {};
  for (const [name, side] of Object.entries(fields)) if (side === 'source' || side === 'target') out[name] = side;
  return out;
}

/** decidedCandidate reads the candidate a decided crm.match review chose ('' for a new record). */
export function decidedCandidate(decision: unknown): string | undefined {
  const c = (decision as Partial<MatchDecision> | null)?.candidate;
  return typeof c === 'string' ? c : undefined;
}

/** deciderName shows who decided, whether the server names them by a string or as a user. */
export function deciderName(by: Review['decidedBy']): string {
  if (!by) return '';
  if (typeof by === 'string') return by;
  return by.email || by.name || by.id || '';
}

/** isClosed says whether a refused decision was refused because the review is no longer open. */
export function isClosed(err: unknown): boolean {
  return err instanceof ApiError && err.code === 'review_closed';
}

/** showValue writes a field's value for the table: text as it is, nothing as '', anything else as JSON. */
export function showValue(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** Translate is the part of i18next's t that reviewTitle needs. */
export type Translate = (key: string, options: Record<string, unknown>) => string;

/**
 * reviewTitle names a review in the app's language from what it asks (the record and how many fields differ, or
 * the customer and how many records may be them); a kind the app does not know keeps the server's title.
 */
export function reviewTitle(r: Review, t: Translate): string {
  if (r.kind === KIND_CONFLICT) {
    const req = (r.request ?? {}) as Partial<ConflictRequest>;
    const record = showValue(req.key?.value) || req.recordId || '';
    const count = conflictFields(r.request).length;
    const object = req.object ? t(`reviews.objects.${req.object}`, { defaultValue: req.object }) : '';
    if (record && count) return t('reviews.titles.conflict', { object, record, count });
  }
  if (r.kind === KIND_MATCH) {
    const req = (r.request ?? {}) as Partial<MatchRequest>;
    const customer = Object.values(req.customer ?? {}).map(showValue).find((v) => v !== '') ?? '';
    const count = matchCandidates(r.request).length;
    if (customer) return t('reviews.titles.match', { customer, count });
  }
  return r.title || r.id;
}

export const KIND_APPROVAL = 'approval';

/** Assignee names who may decide an approval: people with role, the listed e-mails, and admins. */
export interface Assignee { role?: string; users?: string[] }

/** ApprovalRequest is what a core.approval step asks: a title, details in Markdown, and who may decide. */
export interface ApprovalRequest {
  title: string;
  details?: string;
  assignee?: Assignee;
  commentRequiredOnReject?: boolean;
  input?: unknown;
}

/** ApprovalDecision approves or rejects, with a comment. */
export interface ApprovalDecision { approve: boolean; comment?: string }

/**
 * approvalDecision is the decision the Approve and Reject buttons post, or null when a rejection needs a comment
 * and none is given (the server refuses it too).
 */
export function approvalDecision(request: unknown, approve: boolean, comment: string): ApprovalDecision | null {
  const req = (request ?? {}) as Partial<ApprovalRequest>;
  const text = comment.trim();
  if (!approve && req.commentRequiredOnReject && text === '') return null;
  return text === '' ? { approve } : { approve, comment: text };
}

/** decidedApproval reads a decided approval: approved or rejected, and the comment. */
export function decidedApproval(decision: unknown): ApprovalDecision | undefined {
  const d = decision as Partial<ApprovalDecision> | null | undefined;
  return d && typeof d.approve === 'boolean' ? { approve: d.approve, comment: typeof d.comment === 'string' ? d.comment : undefined } : undefined;
}

/** Decider is the signed-in person as far as deciding goes: their e-mail, role and permissions. */
export interface Decider { email?: string; role?: string; permissions: string[] }

/**
 * mayDecide mirrors the server's rule: a review whose request names an assignee may be decided by admins, people
 * with the assigned role and the listed e-mails; one that names nobody by those who operate runs.
 */
export function mayDecide(r: Review, me: Decider): boolean {
  const assignee = (r.request as { assignee?: unknown } | null)?.assignee;
  if (assignee === undefined || assignee === null) return me.permissions.includes('runs:operate');
  if (me.role === 'admin') return true;
  const a = (typeof assignee === 'object' ? assignee : {}) as Assignee;
  if (a.role && a.role === me.role) return true;
  const email = (me.email ?? '').trim().toLowerCase();
  return email !== '' && Array.isArray(a.users) && a.users.some((u) => typeof u === 'string' && u.toLowerCase() === email);
}

/** Inline is a piece of a Markdown line: text, bold, italic, code, or a link with a safe address. */
export type Inline = { kind: 'text' | 'bold' | 'italic' | 'code'; text: string } | { kind: 'link'; text: string; href: string };

/** Block is a paragraph (its lines) or a list (its items); headings are shown as bold paragraphs. */
export type Block = { kind: 'paragraph'; lines: Inline[][] } | { kind: 'list'; ordered: boolean; items: Inline[][] } | { kind: 'heading'; text: Inline[] };

/**
 * markdownBlocks reads the small Markdown an approval's details are written in (paragraphs, lists, headings,
 * bold, italic, code, links) into blocks the page renders as elements: nothing is ever inserted as HTML, and
 * links keep only http, https and mailto addresses.
 */
export function markdownBlocks(src: string): Block[] {
  const blocks: Block[] = [];
  let para: Inline[][] | null = null;
  let list: { ordered: boolean; items: Inline[][] } | null = null;
  const flush = () => {
    if (para) blocks.push({ kind: 'paragraph', lines: para });
    if (list) blocks.push({ kind: 'list', ...list });
    para = null;
    list = null;
  };
  for (const raw of src.replace(/\r\n?/g, '\n').split('\n')) {
    const line = raw.trimEnd();
    if (line.trim() === '') { flush(); continue; }
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) { flush(); blocks.push({ kind: 'heading', text: markdownInline(heading[1]) }); continue; }
    const item = /^\s*(?:([-*+])|(\d+)[.)])\s+(.*)$/.exec(line);
    if (item) {
      const ordered = item[2] !== undefined;
      if (para || (list && list.ordered !== ordered)) flush();
      if (!list) list = { ordered, items: [] };
      list.items.push(markdownInline(item[3]));
      continue;
    }
    if (list) flush();
    if (!para) para = [];
    para.push(markdownInline(line.trim()));
  }
  flush();
  return blocks;
}

const SAFE_LINK = /^(https?:\/\/|mailto:)/i;

/** markdownInline reads one line's bold, italic, code and links; anything else is text. */
export function markdownInline(line: string): Inline[] {
  const out: Inline[] = [];
  const re = /`([^`]+)`|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*]+)\*|_([^_]+)_|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    if (m.index > last) out.push({ kind: 'text', text: line.slice(last, m.index) });
    if (m[1] !== undefined) out.push({ kind: 'code', text: m[1] });
    else if (m[2] !== undefined || m[3] !== undefined) out.push({ kind: 'bold', text: m[2] ?? m[3] });
    else if (m[4] !== undefined || m[5] !== undefined) out.push({ kind: 'italic', text: m[4] ?? m[5] });
    else if (SAFE_LINK.test(m[7])) out.push({ kind: 'link', text: m[6], href: m[7] });
    else out.push({ kind: 'text', text: m[0] });
    last = m.index + m[0].length;
  }
  if (last < line.length) out.push({ kind: 'text', text: line.slice(last) });
  return out;
}
