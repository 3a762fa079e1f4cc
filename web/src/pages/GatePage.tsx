import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, Input, Modal, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import { ErrorAlert } from '../ui';
import { LanguageSwitch } from '../LanguageSwitch';

interface Creds { email: string; password: string }

/** GatePage is the first-run setup (create the first admin) or the sign-in form. */
export default function GatePage({ mode }: { mode: 'setup' | 'login' }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [token, setToken] = useState<string | null>(null);

  const finish = async () => {
    setToken(null);
    await queryClient.invalidateQueries({ queryKey: ['setup'] });
    await queryClient.invalidateQueries({ queryKey: ['me'] });
  };

  const submit = async (creds: Creds) => {
    setBusy(true);
    setError(null);
    try {
      if (mode === 'setup') {
        const res = await api.post<{ token: string }>('/api/v1/setup', creds);
        setToken(res.token);
      } else {
        await api.post('/api/v1/auth/login', creds);
        await finish();
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="ferry-gate">
      <section className="ferry-gate-card">
        <header>
          <h1>Ferry · {mode === 'setup' ? t('gate.setupTitle') : t('gate.signInTitle')}</h1>
          <LanguageSwitch />
        </header>
        {mode === 'setup' && <Alert type="info" showIcon style={{ marginBottom: 16 }} message={t('gate.setupHelp')} />}
        <Form<Creds> layout="vertical" onFinish={submit} requiredMark={false}>
          <Form.Item name="email" label={t('gate.email')} rules={[{ required: true, type: 'email', message: t('gate.emailInvalid') }]}>
            <Input autoComplete="username" autoFocus />
          </Form.Item>
          <Form.Item
            name="password"
            label={t('gate.password')}
            rules={[{ required: true, min: mode === 'setup' ? 10 : 1, message: t('gate.passwordShort') }]}
          >
            <Input.Password autoComplete={mode === 'setup' ? 'new-password' : 'current-password'} />
          </Form.Item>
          <ErrorAlert error={error} style={{ marginBottom: 16 }} />
          <Button type="primary" htmlType="submit" block loading={busy}>
            {mode === 'setup' ? t('gate.createAdmin') : t('gate.signIn')}
          </Button>
        </Form>
      </section>
      <Modal open={token !== null} title={t('gate.tokenTitle')} onOk={finish} onCancel={finish} cancelButtonProps={{ style: { display: 'none' } }} okText={t('gate.continue')}>
        <p>{t('gate.tokenHelp')}</p>
        <Typography.Paragraph copyable={{ text: token ?? '' }}><code>{token}</code></Typography.Paragraph>
      </Modal>
    </div>
  );
}
