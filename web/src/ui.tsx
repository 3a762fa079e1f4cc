import { Alert, Spin, Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import i18n from 'i18next';
import { ApiError } from './api/client';

/** ErrorAlert shows a failed request in place with the server's own message and code. */
export function ErrorAlert({ error, style }: { error: unknown; style?: React.CSSProperties }) {
  const { t } = useTranslation();
  if (!error) return null;
  const raw = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.code : undefined;
  const problems = error instanceof ApiError ? error.problems : [];
  // The server writes its messages in English; the common refusals are said in the user's language, with the
  // server's own words kept underneath.
  const known = code ? t(`errors.${code}`, { defaultValue: '' }) : '';
  const message = known || raw;
  return (
    <Alert
      type="error"
      showIcon
      style={style}
      message={message || t('common.unknownError')}
      description={
        code || problems.length ? (
          <>
            {known && raw && known !== raw && <div>{raw}</div>}
            {code && <div><code>{code}</code></div>}
            {problems.length > 0 && (
              <ul style={{ margin: 0, paddingLeft: 18 }}>
                {problems.map((p, i) => (
                  <li key={i}>
                    {p.nodeId && <b>{p.nodeId}</b>} {p.field && <code>{p.field}</code>} {p.message}
                    {p.line ? ` (${t('editor.lineColumn', { line: p.line, column: p.column ?? 0 })})` : ''}
                  </li>
                ))}
              </ul>
            )}
          </>
        ) : undefined
      }
    />
  );
}

export function JsonView({ value }: { value: unknown }) {
  const { t } = useTranslation();
  if (value === undefined) return <span style={{ color: '#8a94a6' }}>{t('common.none')}</span>;
  return <pre className="ferry-json">{JSON.stringify(value, null, 2)}</pre>;
}

const statusColors: Record<string, string> = {
  succeeded: 'green', published: 'green', failed: 'red', cancelled: 'default', draft: 'blue',
  queued: 'gold', running: 'processing', waiting: 'gold', paused: 'orange', dry_run: 'purple', skipped: 'default',
  open: 'gold', decided: 'green', timed_out: 'orange',
};

export function StatusTag({ status }: { status: string }) {
  const { t } = useTranslation();
  return <Tag color={statusColors[status] ?? 'default'}>{t(`status.${status}`, { defaultValue: status })}</Tag>;
}

/** formatTime shows a time in the app's language (not the browser's), so a Chinese screen has Chinese dates. */
export function formatTime(s?: string): string {
  if (!s) return '';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toLocaleString(uiLocale());
}

/** uiLocale is the app's current language as a BCP 47 tag for Intl formatting. */
export function uiLocale(): string {
  return i18n.language || 'en';
}

/** formatMicros shows a step duration given in microseconds. */
export function formatMicros(us?: number): string {
  if (us === undefined || us === null) return '';
  if (us < 1000) return `${us} µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(1)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}

/** webhookAddress turns the server's webhook path into a full address to copy. */
export function webhookAddress(path?: string): string {
  if (!path) return '';
  return /^https?:/.test(path) ? path : window.location.origin + path;
}

/** Loading fills a page's place while it or its data arrives. */
export function Loading() {
  return <div style={{ padding: 48, textAlign: 'center' }}><Spin /></div>;
}
