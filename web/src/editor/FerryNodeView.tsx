import { memo } from 'react';
import { Handle, Position, type NodeProps } from '@xyflow/react';
import { Tag, Tooltip } from 'antd';
import { useTranslation } from 'react-i18next';
import type { FerryNode } from './convert';
import { useEditorState } from './context';
import { inputPorts, outputPorts } from './ports';
import { formatMicros } from '../ui';
import { childProgress, dryRunPreview, stepErrorText } from './stepView';

const stepColors: Record<string, string> = { succeeded: 'green', failed: 'red', dry_run: 'purple', skipped: 'default', waiting: 'gold' };

/** FerryNodeView draws one node: its input ports on the left, its output ports (error last, dashed) on the right. */
export const FerryNodeView = memo(function FerryNodeView({ id, data, selected }: NodeProps<FerryNode>) {
  const { t } = useTranslation();
  const { specs, problems, steps, childrenOpen } = useEditorState();
  const node = data.node;
  const spec = specs.get(node.type);
  const ins = inputPorts(spec);
  const outs = outputPorts(spec, node.params);
  const nodeProblems = problems.get(id) ?? [];
  const step = steps.get(id);
  const progress = childProgress(step, childrenOpen);
  const rows = Math.max(ins.length, outs.length);
  const failed = step?.status === 'failed';
  const failure = failed ? stepErrorText(step.error) : null;

  return (
    <div className={`ferry-node${selected ? ' selected' : ''}${nodeProblems.length ? ' has-problems' : ''}${failed ? ' failed' : ''}`}>
      <div className="ferry-node-head">
        <div>
          <div className="ferry-node-title">{node.name || spec?.name || node.type}</div>
          <div className="ferry-node-type">{id} · {spec ? spec.name : t('editor.unknownType', { type: node.type })}</div>
        </div>
        {spec?.trigger && <Tag color="blue" style={{ marginRight: 0, height: 20 }}>{t('editor.trigger')}</Tag>}
      </div>
      <div className="ferry-node-body">
        {Array.from({ length: rows }, (_, i) => (
          <div key={i} style={{ display: 'flex', justifyContent: 'space-between' }}>
            <div className="ferry-port in">
              {ins[i] && (
                <>
                  <Handle type="target" position={Position.Left} id={ins[i].id} />
                  {ins.length > 1 ? ins[i].label : ''}
                </>
              )}
            </div>
            <div className={`ferry-port${outs[i]?.kind === 'error' ? ' error' : ''}`}>
              {outs[i] && (
                <>
                  {outs[i].kind === 'error' ? t('editor.errorPort') : outs[i].label}
                  <Handle
                    type="source"
                    position={Position.Right}
                    id={outs[i].id}
                    className={outs[i].kind === 'error' ? 'ferry-handle-error' : undefined}
                  />
                </>
              )}
            </div>
          </div>
        ))}
      </div>
      {(step || nodeProblems.length > 0) && (
        <div className="ferry-node-foot">
          {step && step.status === 'dry_run' ? (
            <Tooltip
              overlayClassName="ferry-node-tip"
              title={<><div>{t('canvas.wouldSend')}</div><pre className="ferry-node-tip-json">{JSON.stringify(dryRunPreview(step.output), null, 2)}</pre></>}
            >
              <Tag color={stepColors.dry_run}>{t('status.dry_run')} {formatMicros(step.durationUs)}</Tag>
            </Tooltip>
          ) : step && (
            <Tag color={stepColors[step.status] ?? 'default'}>
              {t(`status.${step.status}`, { defaultValue: step.status })} {formatMicros(step.durationUs)}
            </Tag>
          )}
          {progress && (
            <Tag color={progress.failed ? 'red' : 'blue'} className="ferry-node-children">
              {progress.succeeded !== undefined
                ? t('canvas.childrenDone', { succeeded: progress.succeeded, total: progress.total, failed: progress.failed ?? 0 })
                : progress.ended !== undefined
                  ? t('canvas.childrenRunning', { ended: progress.ended, total: progress.total })
                  : t('canvas.childrenStarted', { total: progress.total })}
            </Tag>
          )}
          {nodeProblems.length > 0 && (
            <Tooltip title={nodeProblems.map((p) => p.message).join('\n')}>
              <Tag color="red">{t('editor.problemCount', { count: nodeProblems.length })}</Tag>
            </Tooltip>
          )}
        </div>
      )}
      {failure && failure.message && (
        <Tooltip
          overlayClassName="ferry-node-tip"
          title={<>{failure.code && <div><code>{failure.code}</code></div>}<div>{failure.message}</div><div className="ferry-node-tip-hint">{t('canvas.openDetails')}</div></>}
        >
          <div className="ferry-node-error" role="alert">{failure.message}</div>
        </Tooltip>
      )}
    </div>
  );
});
