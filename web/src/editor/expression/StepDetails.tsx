import { Alert, Descriptions, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import type { Step } from '../../api/types';
import { formatMicros, JsonView, StatusTag } from '../../ui';
import { redactHeaders } from './fields';

/** StepFailure is a failed step's error as the engine records it. */
export interface StepFailure {
  code?: string;
  message?: string;
  kind?: string;
  nodeId?: string;
  details?: Record<string, unknown> | null;
}

/** RecordedRequest is an HTTP request a step sent (or, in a dry run, would have sent). */
export interface RecordedRequest {
  method?: string;
  url?: string;
  headers?: Record<string, unknown>;
  body?: unknown;
  bodyTruncated?: boolean;
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** stepFailure reads a step's error, whatever its shape. */
export function stepFailure(step: Step): StepFailure | undefined {
  if (step.error === undefined || step.error === null) return undefined;
  const e = asObject(step.error);
  if (!e) return { message: String(step.error) };
  return { code: e.code as string | undefined, message: e.message as string | undefined, kind: e.kind as string | undefined, nodeId: e.nodeId as string | undefined, details: asObject(e.details) ?? null };
}

/** requestOf finds the request a step recorded: in its failure details, or in a dry run's output. */
export function requestOf(step: Step): RecordedRequest | undefined {
  const fromError = asObject(stepFailure(step)?.details?.request);
  const fromOutput = asObject(asObject(step.output)?.request);
  const r = fromError ?? fromOutput;
  if (!r || (typeof r.method !== 'string' && typeof r.url !== 'string')) return undefined;
  return r as RecordedRequest;
}

/**
 * StepDetails is the output pane of the node panel: the status and duration of the step, its error first when
 * it failed (code, message, details), the request it sent or would have sent, and its output.
 */
export function StepDetails({ step }: { step: Step }) {
  const { t } = useTranslation();
  const failure = stepFailure(step);
  const request = requestOf(step);
  const dry = step.status === 'dry_run';
  const rest = failure?.details ? Object.fromEntries(Object.entries(failure.details).filter(([k]) => k !== 'request')) : undefined;
  const status = typeof rest?.status === 'number' ? rest.status : undefined;
  return (
    <div>
      <p>
        <StatusTag status={step.status} /> {step.port && <code>{step.port}</code>} {formatMicros(step.durationUs)}
        {step.attempt && step.attempt > 1 ? <Typography.Text type="secondary"> · {t('expression.attempt', { n: step.attempt })}</Typography.Text> : null}
      </p>
      {failure && (
        <Alert
          type="error"
          showIcon
          style={{ marginBottom: 12 }}
          message={<span data-testid="step-error-message">{failure.message || t('common.unknownError')}</span>}
          description={
            <>
              {failure.code && <div><code>{failure.code}</code> {failure.kind && <Tag>{t(`expression.kind.${failure.kind}`, { defaultValue: failure.kind })}</Tag>}</div>}
              {status !== undefined && <div>{t('expression.responseStatus', { status })}</div>}
              {rest && Object.keys(rest).length > 0 && (
                <details open>
                  <summary>{t('expression.errorDetails')}</summary>
                  <JsonView value={rest} />
                </details>
              )}
            </>
          }
        />
      )}
      {request && <RequestView request={request} title={dry ? t('expression.wouldSend') : t('expression.requestSent')} />}
      {!failure && (
        <>
          <Typography.Text strong>{t('editor.outputData')}</Typography.Text>
          <JsonView value={step.output} />
        </>
      )}
    </div>
  );
}

/** RequestView shows a recorded HTTP request: method, URL, headers (credentials hidden) and body. */
export function RequestView({ request, title }: { request: RecordedRequest; title: string }) {
  const { t } = useTranslation();
  const headers = redactHeaders(request.headers);
  return (
    <div style={{ marginBottom: 12 }} data-testid="step-request">
      <Typography.Text strong>{title}</Typography.Text>
      <Descriptions size="small" column={1} bordered style={{ marginTop: 4 }}>
        <Descriptions.Item label={t('expression.method')}><code>{request.method}</code></Descriptions.Item>
        <Descriptions.Item label={t('expression.url')}><code style={{ wordBreak: 'break-all' }}>{request.url}</code></Descriptions.Item>
        <Descriptions.Item label={t('expression.headers')}>
          {headers.length === 0 ? (
            <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
          ) : (
            <div className="ferry-request-headers">{headers.map(([k, v]) => <div key={k}><b>{k}:</b> {v}</div>)}</div>
          )}
        </Descriptions.Item>
        <Descriptions.Item label={t('expression.body')}>
          {request.body === undefined || request.body === null ? (
            <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
          ) : (
            <>
              {typeof request.body === 'string' ? <pre className="ferry-json">{request.body}</pre> : <JsonView value={request.body} />}
              {request.bodyTruncated && <Typography.Text type="secondary">{t('expression.bodyTruncated')}</Typography.Text>}
            </>
          )}
        </Descriptions.Item>
      </Descriptions>
    </div>
  );
}
