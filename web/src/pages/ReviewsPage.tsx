import { useEffect, useRef, useState } from 'react';
import { Link, useLocation, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App as AntApp, Button, Card, Checkbox, Descriptions, Drawer, Input, Radio, Select, Space, Table, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, query } from '../api/client';
import type { Flow, Me } from '../api/types';
import { useCan } from '../permissions';
import { ErrorAlert, formatTime, JsonView, StatusTag } from '../ui';
import {
  type ApprovalRequest, approvalDecision, type Block, decidedApproval, type Inline, KIND_APPROVAL, markdownBlocks, mayDecide as mayDecideReview,
  type Choices, chooseAll, conflictDecision, conflictFields, type ConflictRequest, decidedCandidate, decidedChoices, deciderName,
  isClosed, KIND_CONFLICT, KIND_MATCH, type MatchCandidate, matchCandidates, matchDecision, type MatchRequest, missingChoices,
  NONE_OF_THESE, REVIEW_STATUSES, type Review, type ReviewList, type ReviewStatusFilter, reviewTitle, showValue, type Side,
} from './reviews';

const PAGE_SIZE = 50;

/** ReviewsPage lists the decisions parked runs wait for; /reviews/:id opens one in a drawer over the list. */
export default function ReviewsPage() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const location = useLocation();
  const [params, setParams] = useSearchParams();
  const status = (params.get('status') ?? 'open') as ReviewStatusFilter;
  const flow = params.get('flow') ?? '';
  const kind = params.get('kind') ?? '';
  const mine = params.get('assignee') === 'me';
  // ?run= narrows the list to one run's reviews: the link a notification sent before an approval carries.
  const runId = params.get('run') ?? '';
  // cursors[i] is the cursor that loads page i; page 0 needs none.
  const [cursors, setCursors] = useState<string[]>(['']);
  const page = cursors.length - 1;

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
    setCursors(['']);
  };

  const flows = useQuery({ queryKey: ['flows', ''], queryFn: () => api.get<{ flows: Flow[] }>('/api/v1/flows') });
  const list = useQuery({
    queryKey: ['reviews', 'list', status, flow, kind, mine, runId, cursors[page]],
    queryFn: () => api.get<ReviewList>('/api/v1/reviews' + query({
      status, flowId: flow, kind, assignee: mine ? 'me' : '', runId, cursor: cursors[page], limit: PAGE_SIZE,
    })),
  });
  const open = (reviewId: string) => navigate(`/reviews/${encodeURIComponent(reviewId)}${location.search}`);
  // A link to one run's reviews opens its review at once when there is exactly one. Closing the drawer says so in
  // the history entry's state, since the list is mounted afresh and would open it again.
  const stay = (location.state as { stay?: boolean } | null)?.stay === true;
  const only = runId && !id && !stay && list.data?.items.length === 1 ? list.data.items[0].id : '';
  useEffect(() => {
    if (only) navigate(`/reviews/${encodeURIComponent(only)}${location.search}`, { replace: true });
  }, [only]); // eslint-disable-line react-hooks/exhaustive-deps

  return (
    <div className="ferry-page">
      <Typography.Title level={3} style={{ marginTop: 0 }}>{t('reviews.title')}</Typography.Title>
      <Typography.Paragraph type="secondary">{t('reviews.intro')}</Typography.Paragraph>
      <Space wrap style={{ marginBottom: 16 }}>
        <Select
          aria-label={t('reviews.status')}
          style={{ width: 180 }}
          value={status}
          onChange={(v: string) => setFilter('status', v === 'open' ? '' : v)}
          options={REVIEW_STATUSES.map((s) => ({ value: s, label: t(`reviews.statuses.${s}`) }))}
        />
        <Select
          allowClear
          showSearch
          optionFilterProp="label"
          aria-label={t('reviews.flow')}
          placeholder={t('reviews.flow')}
          style={{ width: 240 }}
          value={flow || undefined}
          onChange={(v) => setFilter('flow', v ?? '')}
          options={(flows.data?.flows ?? []).map((f) => ({ value: f.id, label: f.name }))}
        />
        <Select
          aria-label={t('reviews.kind')}
          style={{ width: 180 }}
          value={kind}
          onChange={(v: string) => setFilter('kind', v)}
          options={[
            { value: '', label: t('reviews.allKinds') },
            ...[KIND_APPROVAL, KIND_CONFLICT, KIND_MATCH].map((k) => ({ value: k, label: t(`reviews.kinds.${k.split('.').join('_')}`) })),
          ]}
        />
        <Checkbox checked={mine} onChange={(e) => setFilter('assignee', e.target.checked ? 'me' : '')}>{t('reviews.mine')}</Checkbox>
        {runId && (
          <Tag closable onClose={() => setFilter('run', '')}>{t('reviews.oneRun', { run: runId.slice(-12) })}</Tag>
        )}
      </Space>
      <ErrorAlert error={list.error} style={{ marginBottom: 16 }} />
      <Table<Review>
        rowKey="id"
        loading={list.isPending}
        dataSource={list.data?.items ?? []}
        pagination={false}
        rowClassName={(r) => (r.id === id ? 'ant-table-row-selected' : '')}
        locale={{ emptyText: status === 'open' && !flow && !kind && !mine && !runId ? t('reviews.emptyOpen') : t('reviews.empty') }}
        columns={[
          {
            title: t('reviews.titleColumn'), dataIndex: 'title',
            render: (_: string | undefined, r) => <Link to={`/reviews/${encodeURIComponent(r.id)}${location.search}`}>{reviewTitle(r, t)}</Link>,
          },
          { title: t('reviews.flow'), dataIndex: 'flowId', render: (f: string, r) => <Link to={`/flows/${f}`}>{r.flowName || f}</Link> },
          { title: t('reviews.kind'), dataIndex: 'kind', render: (k: string) => <KindTag kind={k} /> },
          { title: t('reviews.created'), dataIndex: 'createdAt', render: (v?: string) => formatTime(v) },
          { title: t('reviews.timesOut'), dataIndex: 'timeoutAt', render: (v: string | undefined, r) => (r.status === 'open' ? formatTime(v) : '') },
          { title: t('reviews.status'), dataIndex: 'status', render: (s: string) => <StatusTag status={s} /> },
        ]}
        onRow={(r) => ({ onDoubleClick: () => open(r.id) })}
      />
      <Space style={{ marginTop: 16 }}>
        <Button disabled={page === 0} onClick={() => setCursors(cursors.slice(0, -1))}>{t('reviews.previous')}</Button>
        <span>{t('reviews.page', { page: page + 1 })}</span>
        <Button disabled={!list.data?.nextCursor} onClick={() => list.data?.nextCursor && setCursors([...cursors, list.data.nextCursor])}>
          {t('reviews.next')}
        </Button>
      </Space>
      <Drawer
        open={id !== ''}
        width={920}
        title={t('reviews.drawerTitle')}
        onClose={() => navigate(`/reviews${location.search}`, { state: { stay: true } })}
        destroyOnHidden
      >
        {id && <ReviewDetail key={id} id={id} />}
      </Drawer>
    </div>
  );
}

function KindTag({ kind }: { kind: string }) {
  const { t } = useTranslation();
  return <Tag>{t(`reviews.kinds.${kind.split('.').join('_')}`, { defaultValue: kind })}</Tag>;
}

/** ReviewDetail shows one review: what it asks, and for an operator the form that decides it. */
export function ReviewDetail({ id }: { id: string }) {
  const { t } = useTranslation();
  const { message } = AntApp.useApp();
  const can = useCan();
  const queryClient = useQueryClient();
  const me = useQuery({ queryKey: ['me'], queryFn: () => api.get<Me>('/api/v1/auth/me'), staleTime: 60_000 });
  // Personal data is masked as in runs; a caller who may reveal it can ask (each reveal is audited).
  const mayReveal = can('runs:reveal');
  const [reveal, setReveal] = useState(false);
  const revealing = reveal && mayReveal;
  const review = useQuery({
    queryKey: ['review', id, revealing],
    queryFn: () => api.get<Review>(`/api/v1/reviews/${encodeURIComponent(id)}${revealing ? '?reveal=true' : ''}`),
    placeholderData: (previous) => previous,
    // The form is not swapped under an operator's hands when the window regains focus; a decision that comes too
    // late is answered review_closed, which says so and shows the review as it now stands.
    refetchOnWindowFocus: false,
  });
  // An open review that is seen closed later, not by this caller's decision, was decided elsewhere or timed out.
  const seenOpen = useRef(false);
  const status = review.data?.status;
  useEffect(() => {
    if (status === 'open') seenOpen.current = true;
  }, [status]);
  const decide = useMutation({
    mutationFn: (decision: unknown) => api.post<Review>(`/api/v1/reviews/${encodeURIComponent(id)}/decision`, decision),
    onSuccess: (r) => {
      // The answer is masked; an unmasked view is asked for again.
      queryClient.setQueryData(['review', id, false], r);
      void queryClient.invalidateQueries({ queryKey: ['review', id, true] });
      void message.success(t('reviews.decided'));
      void queryClient.invalidateQueries({ queryKey: ['reviews'] });
      void queryClient.invalidateQueries({ queryKey: ['run', r.runId] });
    },
    onError: (err) => {
      // Someone else was faster, or the wait ran out: show the review as it now stands.
      if (isClosed(err)) {
        void queryClient.invalidateQueries({ queryKey: ['review', id] });
        void queryClient.invalidateQueries({ queryKey: ['reviews'] });
      }
    },
  });

  if (review.isPending) return <Card loading />;
  if (review.isError) return <ErrorAlert error={review.error} />;
  const r = review.data;
  const isOpen = r.status === 'open';
  // The server checks again; this only spares people a form they may not submit.
  const mayDecide = me.data !== undefined &&
    mayDecideReview(r, { email: me.data.user?.email, role: me.data.role, permissions: me.data.permissions ?? [] });

  return (
    <div className="ferry-review">
      <Descriptions size="small" column={{ xs: 1, md: 2 }} style={{ marginBottom: 16 }}>
        <Descriptions.Item label={t('reviews.titleColumn')}>{reviewTitle(r, t)}</Descriptions.Item>
        <Descriptions.Item label={t('reviews.status')}><StatusTag status={r.status} /></Descriptions.Item>
        <Descriptions.Item label={t('reviews.flow')}><Link to={`/flows/${r.flowId}`}>{r.flowName || r.flowId}</Link></Descriptions.Item>
        <Descriptions.Item label={t('reviews.run')}><Link to={`/runs/${r.runId}`}><code>{r.runId.slice(-12)}</code></Link></Descriptions.Item>
        <Descriptions.Item label={t('reviews.node')}><b>{r.nodeId}</b> <small style={{ color: '#6b7585', marginLeft: 6 }}>{r.nodeType}</small></Descriptions.Item>
        <Descriptions.Item label={t('reviews.kind')}><KindTag kind={r.kind} /></Descriptions.Item>
        <Descriptions.Item label={t('reviews.created')}>{formatTime(r.createdAt)}</Descriptions.Item>
        {isOpen && <Descriptions.Item label={t('reviews.timesOut')}>{formatTime(r.timeoutAt)}</Descriptions.Item>}
      </Descriptions>
      {mayReveal && (
        <Checkbox checked={reveal} onChange={(e) => setReveal(e.target.checked)} style={{ marginBottom: 16 }}>{t('reviews.reveal')}</Checkbox>
      )}
      {r.status === 'decided' && (
        <Alert
          type="success"
          showIcon
          style={{ marginBottom: 16 }}
          message={t('reviews.decidedBy', { who: deciderName(r.decidedBy) || t('reviews.someone'), when: formatTime(r.decidedAt) })}
        />
      )}
      {r.status === 'timed_out' && <Alert type="warning" showIcon style={{ marginBottom: 16 }} message={t('reviews.timedOutNote', { when: formatTime(r.timeoutAt) })} />}
      {r.status === 'cancelled' && <Alert type="info" showIcon style={{ marginBottom: 16 }} message={t('reviews.cancelledNote')} />}
      {isOpen && !mayDecide && (
        <Alert type="info" showIcon style={{ marginBottom: 16 }} message={r.kind === KIND_APPROVAL ? t('reviews.approval.notAssignee') : t('reviews.readOnly')} />
      )}
      {(isClosed(decide.error) || (seenOpen.current && !isOpen && !decide.isSuccess)) && (
        <Alert type="warning" showIcon style={{ marginBottom: 16 }} message={t('reviews.closedTitle')} description={t('reviews.closedHelp')} />
      )}
      {decide.error !== null && !isClosed(decide.error) && <ErrorAlert error={decide.error} style={{ marginBottom: 16 }} />}
      {r.kind === KIND_CONFLICT && (
        <ConflictForm review={r} editable={isOpen && mayDecide} busy={decide.isPending} onSubmit={(d) => decide.mutate(d)} />
      )}
      {r.kind === KIND_MATCH && (
        <MatchForm review={r} editable={isOpen && mayDecide} busy={decide.isPending} onSubmit={(d) => decide.mutate(d)} />
      )}
      {r.kind === KIND_APPROVAL && (
        <ApprovalForm review={r} editable={isOpen && mayDecide} busy={decide.isPending} onSubmit={(d) => decide.mutate(d)} />
      )}
      {r.kind !== KIND_CONFLICT && r.kind !== KIND_MATCH && r.kind !== KIND_APPROVAL && (
        <>
          <Alert type="info" showIcon style={{ marginBottom: 16 }} message={t('reviews.unknownKind', { kind: r.kind })} />
          <Card size="small" title={t('reviews.request')}><JsonView value={r.request} /></Card>
          {r.decision !== undefined && <Card size="small" title={t('reviews.decision')} style={{ marginTop: 16 }}><JsonView value={r.decision} /></Card>}
        </>
      )}
    </div>
  );
}

interface FormProps { review: Review; editable: boolean; busy: boolean; onSubmit: (decision: unknown) => void }

/** ConflictForm shows each disputed field with both values and which one the record keeps. */
function ConflictForm({ review, editable, busy, onSubmit }: FormProps) {
  const { t } = useTranslation();
  const req = (review.request ?? {}) as Partial<ConflictRequest>;
  const fields = conflictFields(review.request);
  const [choices, setChoices] = useState<Choices>({});
  const shown = editable ? choices : decidedChoices(review.decision);
  const decision = conflictDecision(fields, choices);
  const missing = missingChoices(fields, choices).length;
  const provider = req.provider ?? '';

  return (
    <>
      {req.changed && editable && <Alert type="warning" showIcon style={{ marginBottom: 16 }} message={t('reviews.changed', { provider })} />}
      <Descriptions size="small" column={{ xs: 1, md: 2 }} style={{ marginBottom: 12 }}>
        <Descriptions.Item label={t('reviews.record')}>
          {[provider, req.object, req.recordId].filter(Boolean).join(' · ')}
        </Descriptions.Item>
        {req.key && <Descriptions.Item label={t('reviews.key')}><code>{req.key.name}</code> = {showValue(req.key.value)}</Descriptions.Item>}
      </Descriptions>
      {editable && (
        <Space style={{ marginBottom: 12 }}>
          <Button onClick={() => setChoices(chooseAll(fields, 'source'))}>{t('reviews.allSource')}</Button>
          <Button onClick={() => setChoices(chooseAll(fields, 'target'))}>{t('reviews.allTarget')}</Button>
        </Space>
      )}
      <Table<{ name: string; source: unknown; target: unknown }>
        rowKey="name"
        size="small"
        className="ferry-review-fields"
        dataSource={fields}
        pagination={false}
        columns={[
          { title: t('reviews.field'), dataIndex: 'name', render: (n: string) => <code>{n}</code> },
          { title: t('reviews.sourceValue'), dataIndex: 'source', render: (v: unknown, f) => <Value value={v} kept={shown[f.name] === 'source'} /> },
          { title: t('reviews.targetValue', { provider: provider || 'CRM' }), dataIndex: 'target', render: (v: unknown, f) => <Value value={v} kept={shown[f.name] === 'target'} /> },
          {
            title: t('reviews.keep'),
            key: 'keep',
            width: 200,
            render: (_: unknown, f) => (!editable && review.decision !== undefined && shown[f.name] === undefined ? (
              // A decision's sides sit under the field names, so a personal-data field's side comes back masked.
              <Typography.Text type="secondary">{t('reviews.sideMasked')}</Typography.Text>
            ) : (
              <Radio.Group
                aria-label={t('reviews.keepFor', { field: f.name })}
                disabled={!editable}
                style={{ whiteSpace: 'nowrap' }}
                value={shown[f.name]}
                onChange={(e) => setChoices({ ...choices, [f.name]: e.target.value as Side })}
                options={[
                  { value: 'source', label: t('reviews.keepSource') },
                  { value: 'target', label: t('reviews.keepTarget') },
                ]}
              />
            )),
          },
        ]}
      />
      {editable && (
        <Space style={{ marginTop: 16 }}>
          <Button type="primary" disabled={decision === null} loading={busy} onClick={() => decision && onSubmit(decision)}>
            {t('reviews.submit')}
          </Button>
          {missing > 0 && <Typography.Text type="secondary">{t('reviews.missing', { count: missing })}</Typography.Text>}
        </Space>
      )}
    </>
  );
}

/** Value shows a field's value; the kept one stands out, an empty one says so. */
function Value({ value, kept }: { value: unknown; kept: boolean }) {
  const { t } = useTranslation();
  const text = showValue(value);
  return (
    <span className={kept ? 'ferry-review-value ferry-review-kept' : 'ferry-review-value'}>
      {text === '' ? <Typography.Text type="secondary" italic>{t('reviews.emptyValue')}</Typography.Text> : text}
    </span>
  );
}

/** MatchForm shows the customer and the records that may be them; the operator picks one or none. */
function MatchForm({ review, editable, busy, onSubmit }: FormProps) {
  const { t } = useTranslation();
  const req = (review.request ?? {}) as Partial<MatchRequest>;
  const candidates = matchCandidates(review.request);
  const [picked, setPicked] = useState<string | undefined>(undefined);
  const shown = editable ? picked : decidedCandidate(review.decision);
  const decision = matchDecision(candidates, picked);

  return (
    <>
      <Card size="small" title={t('reviews.customer', { provider: req.provider ?? '', object: req.object ?? '' })} style={{ marginBottom: 16 }}>
        <FieldList fields={req.customer} />
      </Card>
      <Radio.Group
        aria-label={t('reviews.candidates')}
        disabled={!editable}
        value={shown}
        onChange={(e) => setPicked(e.target.value as string)}
        style={{ display: 'flex', flexDirection: 'column', gap: 8, width: '100%' }}
      >
        {candidates.map((c: MatchCandidate) => (
          <Card key={c.id} size="small" className={shown === c.id ? 'ferry-review-picked' : undefined}>
            <Radio value={c.id}><b>{c.label || c.id}</b> <code style={{ color: '#6b7585' }}>{c.id}</code></Radio>
            <FieldList fields={c.fields} />
          </Card>
        ))}
        <Card size="small" className={shown === NONE_OF_THESE ? 'ferry-review-picked' : undefined}>
          <Radio value={NONE_OF_THESE}>{t('reviews.noneOfThese')}</Radio>
        </Card>
      </Radio.Group>
      {editable && (
        <Button type="primary" style={{ marginTop: 16 }} disabled={decision === null} loading={busy} onClick={() => decision && onSubmit(decision)}>
          {t('reviews.submit')}
        </Button>
      )}
    </>
  );
}

/** ApprovalForm shows what an approval asks, who may decide, and Approve / Reject with a comment. */
function ApprovalForm({ review, editable, busy, onSubmit }: FormProps) {
  const { t } = useTranslation();
  const req = (review.request ?? {}) as Partial<ApprovalRequest>;
  const [comment, setComment] = useState('');
  const decided = decidedApproval(review.decision);
  const reject = approvalDecision(review.request, false, comment);
  const who = [
    req.assignee?.role ? t('reviews.approval.role', { role: t(`reviews.approval.roles.${req.assignee.role}`, { defaultValue: req.assignee.role }) }) : '',
    ...(req.assignee?.users ?? []),
  ].filter(Boolean).join(', ');

  return (
    <>
      <Card size="small" className="ferry-approval" title={req.title || review.title} style={{ marginBottom: 16 }}>
        {req.details ? <Markdown source={req.details} /> : <Typography.Text type="secondary">{t('reviews.approval.noDetails')}</Typography.Text>}
      </Card>
      <Descriptions size="small" column={1} style={{ marginBottom: 12 }}>
        <Descriptions.Item label={t('reviews.approval.assignee')}>{t('reviews.approval.assigneeText', { who: who || '—' })}</Descriptions.Item>
      </Descriptions>
      {decided && (
        <Alert
          type={decided.approve ? 'success' : 'error'}
          style={{ marginBottom: 16 }}
          message={decided.approve ? t('reviews.approval.approved') : t('reviews.approval.rejected')}
          description={decided.comment}
        />
      )}
      {editable && (
        <>
          <Input.TextArea
            aria-label={t('reviews.approval.comment')}
            placeholder={req.commentRequiredOnReject ? t('reviews.approval.commentRequired') : t('reviews.approval.commentOptional')}
            value={comment}
            maxLength={4000}
            autoSize={{ minRows: 3, maxRows: 8 }}
            onChange={(e) => setComment(e.target.value)}
          />
          <Space style={{ marginTop: 12 }}>
            <Button type="primary" loading={busy} onClick={() => onSubmit(approvalDecision(review.request, true, comment))}>
              {t('reviews.approval.approve')}
            </Button>
            <Button danger disabled={reject === null} loading={busy} onClick={() => reject && onSubmit(reject)}>
              {t('reviews.approval.reject')}
            </Button>
            {reject === null && <Typography.Text type="secondary">{t('reviews.approval.why')}</Typography.Text>}
          </Space>
        </>
      )}
      {req.input !== undefined && (
        <Card size="small" title={t('reviews.approval.input')} style={{ marginTop: 16 }}><JsonView value={req.input} /></Card>
      )}
    </>
  );
}

/** Markdown shows an approval's details from markdownBlocks: elements only, never HTML from the text. */
function Markdown({ source }: { source: string }) {
  return (
    <div className="ferry-markdown">
      {markdownBlocks(source).map((b: Block, i) => {
        if (b.kind === 'heading') return <Typography.Paragraph key={i} strong><Inlines parts={b.text} /></Typography.Paragraph>;
        if (b.kind === 'list') {
          const items = b.items.map((it, j) => <li key={j}><Inlines parts={it} /></li>);
          return b.ordered ? <ol key={i}>{items}</ol> : <ul key={i}>{items}</ul>;
        }
        return (
          <Typography.Paragraph key={i}>
            {b.lines.map((l, j) => <span key={j}>{j > 0 && <br />}<Inlines parts={l} /></span>)}
          </Typography.Paragraph>
        );
      })}
    </div>
  );
}

function Inlines({ parts }: { parts: Inline[] }) {
  return (
    <>
      {parts.map((p, i) => {
        switch (p.kind) {
          case 'bold': return <b key={i}>{p.text}</b>;
          case 'italic': return <i key={i}>{p.text}</i>;
          case 'code': return <code key={i}>{p.text}</code>;
          case 'link': return <a key={i} href={p.href} target="_blank" rel="noopener noreferrer">{p.text}</a>;
          default: return <span key={i}>{p.text}</span>;
        }
      })}
    </>
  );
}

function FieldList({ fields }: { fields?: Record<string, unknown> }) {
  const entries = Object.entries(fields ?? {});
  if (entries.length === 0) return null;
  return (
    <Descriptions size="small" column={{ xs: 1, md: 2 }} style={{ marginTop: 8 }}>
      {entries.map(([k, v]) => <Descriptions.Item key={k} label={<code>{k}</code>}>{showValue(v)}</Descriptions.Item>)}
    </Descriptions>
  );
}
