import { useState } from 'react';
import { App as AntApp, Button, Popconfirm, Tooltip, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { TestHook } from '../api/types';
import { webhookAddress } from '../ui';

/**
 * TestHookUrl offers a flow's editors its test webhook: the address with the flow's test secret in it, for senders
 * that cannot sign in to Ferry or add headers (a payment provider's sandbox, Stripe's dashboard). Anyone holding
 * the address can test-run the draft, so it is shown only when asked for, and an editor can replace the secret,
 * which stops the old address at once. The secret is made by the server the first time someone asks.
 */
export function TestHookUrl({ flowId }: { flowId: string }) {
  const { t } = useTranslation();
  const { message } = AntApp.useApp();
  const [hook, setHook] = useState<TestHook | null>(null);
  const [busy, setBusy] = useState(false);
  const base = `/api/v1/flows/${encodeURIComponent(flowId)}/test-hook`;

  const load = async (regenerate: boolean) => {
    setBusy(true);
    try {
      setHook(regenerate ? await api.post<TestHook>(`${base}/regenerate`) : await api.get<TestHook>(base));
      if (regenerate) void message.success(t('canvas.testUrlRegenerated'));
    } catch (err) {
      void message.error(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  if (!hook) {
    return (
      <Tooltip title={t('canvas.testUrlHelp')}>
        <Button size="small" type="link" className="ferry-test-hook-show" loading={busy} style={{ padding: 0 }} onClick={() => void load(false)}>
          {t('canvas.testUrlShow')}
        </Button>
      </Tooltip>
    );
  }
  const address = webhookAddress(hook.url);
  return (
    <span className="ferry-test-hook">
      <Tooltip title={`${t('canvas.testUrlHelp')} ${t('canvas.testUrlHeader', { header: hook.header })}`}>
        <Typography.Text type="secondary" copyable={{ text: address }}>{t('canvas.testUrl')}: <code className="ferry-test-hook-url">{address}</code></Typography.Text>
      </Tooltip>{' '}
      <Popconfirm
        title={t('canvas.testUrlRegenerateTitle')}
        description={t('canvas.testUrlRegenerateBody')}
        okText={t('canvas.testUrlRegenerate')}
        cancelText={t('common.cancel')}
        onConfirm={() => load(true)}
      >
        <Button size="small" type="link" loading={busy} style={{ padding: 0 }}>{t('canvas.testUrlRegenerate')}</Button>
      </Popconfirm>
    </span>
  );
}
