import { useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Checkbox, Input, List, Modal, Spin, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { FlowDocument, Me, NodeSpec, Run, RunDetail } from '../api/types';
import { ErrorAlert, formatTime, StatusTag } from '../ui';
import { loadSample, saveSample } from './samples';

const EMPTY_SAMPLE = '{\n  \n}';

/**
 * TestRunDialog asks for the sample a test run starts from: typed JSON, or the payload a trigger of this flow
 * really received in one of its last live runs. A run's stored trigger payload is exactly what the test endpoint
 * takes (a webhook's {body, headers, query, method} is used as it is), and the run's trigger node is sent along,
 * so the test sees the same data the live run saw. The last sample used is remembered per flow.
 */
export function TestRunDialog({ open, flowId, doc, specs, running, onCancel, onRun }: {
  open: boolean;
  flowId: string;
  doc: FlowDocument;
  specs: Map<string, NodeSpec>;
  running: boolean;
  onCancel: () => void;
  onRun: (payload: unknown, trigger: string | undefined) => void;
}) {
  const { t } = useTranslation();
  const [stored] = useState(() => loadSample(flowId));
  const [text, setText] = useState(stored?.text ?? EMPTY_SAMPLE);
  const [trigger, setTrigger] = useState<string | undefined>(stored?.trigger);
  const [chosen, setChosen] = useState<string | null>(null);
  const [picking, setPicking] = useState<string | null>(null);
  const [pickError, setPickError] = useState<unknown>(null);
  const [parseError, setParseError] = useState('');
  const [notice, setNotice] = useState(stored ? 'lastSample' : '');
  const [reveal, setReveal] = useState(false);
  const me = useQueryClient().getQueryData<Me>(['me']);
  // Only callers holding runs:reveal may see payloads unmasked; others are not offered the choice.
  const mayReveal = !!me?.permissions?.includes('runs:reveal');

  const recent = useQuery({
    queryKey: ['runs', 'recentPayloads', flowId],
    queryFn: () => api.get<{ runs: Run[] }>(`/api/v1/runs?flow=${encodeURIComponent(flowId)}&mode=live&limit=10`),
    // Always stale, so each opening of the dialog shows the runs as they are now.
    enabled: open,
    staleTime: 0,
  });

  const triggers = new Set(doc.nodes.filter((n) => specs.get(n.type)?.trigger).map((n) => n.id));
  const triggerGone = trigger !== undefined && !triggers.has(trigger);

  const pick = async (run: Run) => {
    setPicking(run.id);
    setPickError(null);
    try {
      // Unmasked on request only: every reveal is written to the audit log.
      const detail = await api.get<RunDetail>(`/api/v1/runs/${encodeURIComponent(run.id)}${reveal && mayReveal ? '?reveal=true' : ''}`);
      if (detail.trigger === undefined || detail.trigger === null) {
        setPickError(new Error(t('canvas.recentNoPayload')));
        return;
      }
      setText(JSON.stringify(detail.trigger, null, 2));
      setTrigger(detail.triggerNode || undefined);
      setChosen(run.id);
      setParseError('');
      setNotice('');
    } catch (err) {
      setPickError(err);
    } finally {
      setPicking(null);
    }
  };

  const run = () => {
    let payload: unknown;
    try {
      payload = text.trim() === '' ? {} : JSON.parse(text);
    } catch (e) {
      setParseError(e instanceof Error ? e.message : String(e));
      return;
    }
    setParseError('');
    saveSample(flowId, { text, trigger });
    onRun(payload, triggerGone ? undefined : trigger);
  };

  const runs = recent.data?.runs ?? [];
  return (
    <Modal
      open={open}
      title={t('editor.testTitle')}
      width={760}
      onCancel={onCancel}
      onOk={run}
      okText={t('editor.runTest')}
      cancelText={t('common.cancel')}
      confirmLoading={running}
    >
      <Typography.Paragraph type="secondary">{t('editor.testHelp')}</Typography.Paragraph>
      <Typography.Text strong>{t('canvas.recentTitle')}</Typography.Text>
      <Typography.Paragraph type="secondary" style={{ marginBottom: 6 }}>{t('canvas.recentHelp')} {!(reveal && mayReveal) && t('canvas.recentMasked')}</Typography.Paragraph>
      {mayReveal && <Checkbox checked={reveal} onChange={(e) => setReveal(e.target.checked)} style={{ marginBottom: 6 }}>{t('canvas.recentReveal')}</Checkbox>}
      <div className="ferry-recent-runs">
        {recent.isPending && open ? (
          <div style={{ padding: 16, textAlign: 'center' }}><Spin size="small" /></div>
        ) : recent.isError ? (
          <ErrorAlert error={recent.error} />
        ) : runs.length === 0 ? (
          <Typography.Text type="secondary" style={{ display: 'block', padding: 8 }}>{t('canvas.recentEmpty')}</Typography.Text>
        ) : (
          <List
            size="small"
            dataSource={runs}
            renderItem={(r) => (
              <List.Item
                className={r.id === chosen ? 'ferry-recent-chosen' : undefined}
                actions={[
                  <Button key="use" size="small" loading={picking === r.id} disabled={picking !== null && picking !== r.id} onClick={() => void pick(r)}>
                    {t('canvas.recentUse')}
                  </Button>,
                ]}
              >
                <span className="ferry-recent-time">{formatTime(r.createdAt)}</span>
                <span className="ferry-recent-key">{r.businessKey ? <code>{r.businessKey}</code> : <Typography.Text type="secondary">{t('canvas.noBusinessKey')}</Typography.Text>}</span>
                <StatusTag status={r.status} />
                {r.triggerNode && <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('canvas.fromTrigger', { node: r.triggerNode })}</Typography.Text>}
              </List.Item>
            )}
          />
        )}
      </div>
      <ErrorAlert error={pickError} style={{ marginTop: 8 }} />
      <Typography.Text strong style={{ display: 'block', marginTop: 12 }}>{t('canvas.samplePayload')}</Typography.Text>
      {chosen && <Alert type="info" showIcon style={{ margin: '6px 0' }} message={t('canvas.recentChosen', { run: chosen })} />}
      {!chosen && notice === 'lastSample' && <Alert type="info" showIcon style={{ margin: '6px 0' }} message={t('canvas.lastSample')} />}
      {triggerGone && <Alert type="warning" showIcon style={{ margin: '6px 0' }} message={t('canvas.triggerMissing', { node: trigger })} />}
      <Input.TextArea
        className="ferry-mono"
        value={text}
        onChange={(e) => setText(e.target.value)}
        autoSize={{ minRows: 8, maxRows: 16 }}
        spellCheck={false}
        status={parseError ? 'error' : undefined}
      />
      {parseError && <Typography.Text type="danger">{t('editor.invalidJson')}: {parseError}</Typography.Text>}
    </Modal>
  );
}
