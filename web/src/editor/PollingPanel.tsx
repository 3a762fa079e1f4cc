import { useState } from 'react';
import { App as AntApp, Alert, Button, Card, Descriptions, Input, Popconfirm, Space, Tag, Typography } from 'antd';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { PollState } from '../api/types';
import { useCan } from '../permissions';
import { ErrorAlert, formatTime, Loading } from '../ui';
import { backfillSince, pollFor } from './loadedOptions';

/** pollingKey keys a flow's polling list, shared by every polling trigger's panel of the flow. */
export const pollingKey = (flowId: string) => ['polling', flowId] as const;

/**
 * PollingPanel shows a polling trigger of a saved flow as the poller left it: the cursor (where it stopped), its
 * last and next poll, what it found, how many polls in a row failed and the last error. Whoever may publish the
 * flow can start it over from now (reset) or from a past date (backfill).
 */
export function PollingPanel({ flowId, nodeId, published }: { flowId: string; nodeId: string; published: boolean }) {
  const { t } = useTranslation();
  const can = useCan();
  const q = useQuery({
    queryKey: pollingKey(flowId),
    queryFn: () => api.get<{ polls: PollState[] }>(`/api/v1/flows/${encodeURIComponent(flowId)}/polling`),
    refetchInterval: 15_000,
  });
  return (
    <Card size="small" className="ferry-polling" title={t('connectors.pollingTitle')}>
      <Typography.Paragraph type="secondary" style={{ marginBottom: 8 }}>{t('connectors.pollingHelp')}</Typography.Paragraph>
      {q.isError ? (
        <ErrorAlert error={q.error} />
      ) : q.isPending ? (
        <Loading />
      ) : (
        <PollingState flowId={flowId} nodeId={nodeId} published={published} poll={pollFor(q.data.polls, nodeId)} manage={can('flows:publish')} />
      )}
    </Card>
  );
}

/** PollingState is the panel's body once the flow's polling list arrived; it renders without fetching. */
export function PollingState({ flowId, nodeId, published, poll, manage }: {
  flowId: string;
  nodeId: string;
  published: boolean;
  poll: PollState | undefined;
  manage: boolean;
}) {
  const { t } = useTranslation();
  return (
    <>
      {!published && !poll && <Alert type="info" showIcon message={t('connectors.pollingUnpublished')} style={{ marginBottom: 8 }} />}
      {published && !poll && <Alert type="info" showIcon message={t('connectors.pollingNotYet')} style={{ marginBottom: 8 }} />}
      {poll && (
        <Descriptions size="small" column={1} bordered className="ferry-polling-state">
          <Descriptions.Item label={t('connectors.cursor')}>
            <div>{poll.cursor.time ? formatTime(poll.cursor.time) : t('connectors.never')}</div>
            {poll.cursor.id && <Typography.Text type="secondary" className="ferry-mono">{t('connectors.cursorId', { id: poll.cursor.id })}</Typography.Text>}
            {poll.cursor.from && <div><Typography.Text type="secondary">{t('connectors.walking', { from: formatTime(poll.cursor.from) })}</Typography.Text></div>}
          </Descriptions.Item>
          <Descriptions.Item label={t('connectors.lastPoll')}>{poll.lastPollAt ? formatTime(poll.lastPollAt) : t('connectors.never')}</Descriptions.Item>
          {published && poll.nextPollAt && <Descriptions.Item label={t('connectors.nextPoll')}>{formatTime(poll.nextPollAt)}</Descriptions.Item>}
          <Descriptions.Item label={t('connectors.lastCount')}>{poll.lastCount}</Descriptions.Item>
          <Descriptions.Item label={t('connectors.totalCount')}>{poll.totalCount}</Descriptions.Item>
          <Descriptions.Item label={t('connectors.failures')}>
            {poll.failures > 0 ? <Tag color="red">{poll.failures}</Tag> : poll.failures}
          </Descriptions.Item>
          {!poll.lastError && <Descriptions.Item label={t('connectors.lastError')}>{t('connectors.noError')}</Descriptions.Item>}
        </Descriptions>
      )}
      {poll?.lastError && (
        <Alert
          type="error"
          showIcon
          className="ferry-polling-error"
          message={t('connectors.lastError')}
          description={<><div>{poll.lastError.message}</div><code>{poll.lastError.code}</code></>}
        />
      )}
      {published && (manage ? <PollingActions flowId={flowId} nodeId={nodeId} /> : (
        <Typography.Text type="secondary" className="ferry-loaded-note">{t('connectors.manageHint')}</Typography.Text>
      ))}
    </>
  );
}

/** PollingActions resets a polling trigger to now, or backfills it from a past date. */
function PollingActions({ flowId, nodeId }: { flowId: string; nodeId: string }) {
  const { t } = useTranslation();
  const { message } = AntApp.useApp();
  const client = useQueryClient();
  const [since, setSince] = useState('');
  const base = `/api/v1/flows/${encodeURIComponent(flowId)}/polling/${encodeURIComponent(nodeId)}`;
  const done = (poll: PollState) => {
    client.setQueryData<{ polls: PollState[] }>(pollingKey(flowId), (old) => ({
      polls: [...(old?.polls ?? []).filter((p) => p.nodeId !== poll.nodeId), poll],
    }));
  };
  const reset = useMutation({
    mutationFn: () => api.post<PollState>(`${base}/reset`),
    onSuccess: (poll) => {
      done(poll);
      void message.success(t('connectors.resetDone'));
    },
  });
  const backfill = useMutation({
    mutationFn: (iso: string) => api.post<PollState>(`${base}/backfill`, { since: iso }),
    onSuccess: (poll, iso) => {
      done(poll);
      setSince('');
      void message.success(t('connectors.backfillDone', { since: formatTime(iso) }));
    },
  });
  const iso = backfillSince(since);
  const error = reset.error ?? backfill.error;
  return (
    <div className="ferry-polling-actions">
      <Popconfirm title={t('connectors.resetTitle')} description={<div style={{ maxWidth: 320 }}>{t('connectors.resetBody')}</div>} onConfirm={() => reset.mutate()} okText={t('connectors.reset')} cancelText={t('common.cancel')}>
        <Button loading={reset.isPending}>{t('connectors.reset')}</Button>
      </Popconfirm>
      <Typography.Text>{t('connectors.backfillFrom')}</Typography.Text>
      <Space.Compact>
        <Input
          type="datetime-local"
          aria-label={t('connectors.backfillFrom')}
          value={since}
          onChange={(e) => setSince(e.target.value)}
          status={since && !iso ? 'error' : undefined}
          style={{ width: 200 }}
        />
        <Button disabled={!iso} loading={backfill.isPending} onClick={() => iso && backfill.mutate(iso)}>{t('connectors.backfill')}</Button>
      </Space.Compact>
      {since && !iso && <Typography.Text type="danger" className="ferry-loaded-note">{t('connectors.backfillInvalid')}</Typography.Text>}
      {error && <ErrorAlert error={error} style={{ width: '100%' }} />}
    </div>
  );
}
