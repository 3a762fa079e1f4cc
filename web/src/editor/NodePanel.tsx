import { useMemo } from 'react';
import { Drawer, Form, Input, Select, Typography } from 'antd';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { Credential, FlowNode, NodeSpec, Problem, Step } from '../api/types';
import { ParamForm } from './ParamForm';
import { ErrorAlert } from '../ui';
import { useEditorState } from './context';
import { sampleEnv } from './expression/fields';
import { FieldTree } from './expression/FieldTree';
import { StepDetails } from './expression/StepDetails';
import { PollingPanel } from './PollingPanel';

type DocNode = Omit<FlowNode, 'position'>;

/**
 * NodePanel is the selected node's panel in three panes: the input it got in the last test run, its settings
 * (name, credential and the form generated from its spec), and the output it produced. A polling trigger also
 * shows where its poller stopped in the flow (flowId), which polls only once published.
 */
export function NodePanel({ id, flowId, published, node, spec, problems, step, onChange, onClose }: {
  id: string;
  flowId?: string;
  published?: boolean;
  node: DocNode;
  spec: NodeSpec | undefined;
  problems: Problem[];
  step: Step | undefined;
  onChange: (next: DocNode) => void;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const accepts = spec?.credentials ?? [];
  const credentials = useQuery({
    queryKey: ['credentials'],
    queryFn: () => api.get<{ credentials: Credential[] }>('/api/v1/credentials'),
    enabled: accepts.length > 0,
    staleTime: 60_000,
  });
  const { steps } = useEditorState();
  // The environment the node saw in the last test run: completion, previews and the input tree read it.
  const sample = useMemo(() => sampleEnv(steps.values(), step), [steps, step]);
  const usable = (credentials.data?.credentials ?? []).filter((c) => accepts.includes(c.type));
  const nodeLevel = problems.filter((p) => !p.field || p.field === 'credential' || p.field === 'name' || p.field.startsWith('edges'));

  return (
    <Drawer
      open
      mask={false}
      width="min(1400px, 96vw)"
      onClose={onClose}
      title={<span>{node.name || spec?.name || node.type} <Typography.Text type="secondary" style={{ fontSize: 12 }}>{id} · {node.type}</Typography.Text></span>}
    >
      <div className="ferry-panel">
        <div>
          <Typography.Title level={5}>{t('editor.inputData')}</Typography.Title>
          {step && sample ? <FieldTree sample={sample} input={step.input} /> : <Typography.Text type="secondary">{t('editor.runTestHint')}</Typography.Text>}
        </div>
        <div>
          <Typography.Title level={5}>{t('editor.settings')}</Typography.Title>
          {!spec && <ErrorAlert error={new Error(t('editor.unknownType', { type: node.type }))} style={{ marginBottom: 12 }} />}
          {spec?.description && <Typography.Paragraph type="secondary">{spec.description}</Typography.Paragraph>}
          {nodeLevel.map((p, i) => <ErrorAlert key={i} error={new Error(p.message)} style={{ marginBottom: 8 }} />)}
          <Form layout="vertical" size="small">
            <Form.Item label={t('editor.nodeName')}>
              <Input value={node.name ?? ''} placeholder={spec?.name} onChange={(e) => onChange({ ...node, name: e.target.value || undefined })} />
            </Form.Item>
            {accepts.length > 0 && (
              <Form.Item
                label={t('editor.credential')}
                required={spec?.credentialRequired}
                validateStatus={problems.some((p) => p.field === 'credential') ? 'error' : undefined}
                extra={t('editor.credentialTypes', { types: accepts.join(', ') })}
              >
                <Select
                  allowClear
                  loading={credentials.isPending}
                  value={node.credential || undefined}
                  onChange={(v) => onChange({ ...node, credential: v || undefined })}
                  notFoundContent={credentials.isError ? credentials.error.message : t('editor.noCredentials')}
                  options={usable.map((c) => ({ value: c.id, label: `${c.name} (${c.type})` }))}
                />
              </Form.Item>
            )}
            <ParamForm
              fields={spec?.params}
              values={node.params}
              problems={problems}
              sample={sample}
              source={{ nodeType: node.type, credential: node.credential || undefined }}
              onChange={(params) => onChange({ ...node, params })}
            />
          </Form>
        </div>
        <div>
          {spec?.polling && flowId && <PollingPanel flowId={flowId} nodeId={id} published={!!published} />}
          <Typography.Title level={5}>{t('editor.outputData')}</Typography.Title>
          {step ? (
            <StepDetails step={step} />
          ) : (
            <Typography.Text type="secondary">{t('editor.runTestHint')}</Typography.Text>
          )}
        </div>
      </div>
    </Drawer>
  );
}
