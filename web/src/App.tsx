import { lazy, Suspense } from 'react';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Button, Layout, Menu, Spin, Space } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from './api/client';
import type { Me } from './api/types';
import { GatePage } from './pages/GatePage';
import { ErrorAlert } from './ui';
import { LanguageSwitch } from './LanguageSwitch';
import { ErrorBoundary } from './ErrorBoundary';

// Everything behind sign-in is loaded on demand, so the sign-in page stays small.
const FlowsPage = lazy(() => import('./pages/FlowsPage'));
const RunsPage = lazy(() => import('./pages/RunsPage'));
const RunPage = lazy(() => import('./pages/RunPage'));
const EditorPage = lazy(() => import('./editor/EditorPage'));
const CredentialsPage = lazy(() => import('./pages/admin/CredentialsPage'));
const UsersPage = lazy(() => import('./pages/admin/UsersPage'));
const TokensPage = lazy(() => import('./pages/admin/TokensPage'));
const AuditPage = lazy(() => import('./pages/admin/AuditPage'));
const RejectionsPage = lazy(() => import('./pages/admin/RejectionsPage'));

const ADMIN_PAGES = ['credentials', 'users', 'tokens', 'audit', 'rejections'] as const;

function Loading() {
  return <div style={{ padding: 48, textAlign: 'center' }}><Spin /></div>;
}

export function App() {
  const setup = useQuery({ queryKey: ['setup'], queryFn: () => api.get<{ required: boolean }>('/api/v1/setup') });
  const me = useQuery({
    queryKey: ['me'],
    queryFn: () => api.get<Me>('/api/v1/auth/me'),
    enabled: setup.data?.required === false,
  });

  if (setup.isPending) return <Loading />;
  if (setup.isError) return <div className="ferry-page"><ErrorAlert error={setup.error} /></div>;
  if (setup.data.required) return <GatePage mode="setup" />;
  if (me.isPending) return <Loading />;
  if (me.isError) {
    const signedOut = me.error instanceof ApiError && (me.error.status === 401 || me.error.status === 403);
    return signedOut ? <GatePage mode="login" /> : <div className="ferry-page"><ErrorAlert error={me.error} /></div>;
  }
  return <Shell me={me.data} />;
}

function Shell({ me }: { me: Me }) {
  const { t } = useTranslation();
  const location = useLocation();
  const queryClient = useQueryClient();
  const adminPage = ADMIN_PAGES.find((p) => location.pathname.startsWith(`/admin/${p}`));
  const section = location.pathname.startsWith('/runs') ? 'runs' : location.pathname.startsWith('/admin') ? 'admin' : 'flows';

  const signOut = async () => {
    try {
      await api.post('/api/v1/auth/logout');
    } finally {
      queryClient.clear();
      await queryClient.invalidateQueries();
      window.location.assign('/');
    }
  };

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Header className="ferry-header">
        <Link to="/flows" className="ferry-brand">Ferry</Link>
        <Menu
          theme="dark"
          mode="horizontal"
          selectedKeys={adminPage ? [section, `admin/${adminPage}`] : [section]}
          items={[
            { key: 'flows', label: <Link to="/flows">{t('nav.flows')}</Link> },
            { key: 'runs', label: <Link to="/runs">{t('nav.runs')}</Link> },
            {
              key: 'admin',
              label: t('nav.admin'),
              children: ADMIN_PAGES.map((p) => ({ key: `admin/${p}`, label: <Link to={`/admin/${p}`}>{t(`nav.adminPages.${p}`)}</Link> })),
            },
          ]}
        />
        <Space className="ferry-header-right">
          <LanguageSwitch />
          <span>{me.user.email} ({t(`roles.${me.role}`, { defaultValue: me.role })})</span>
          <Button size="small" onClick={signOut}>{t('header.signOut')}</Button>
        </Space>
      </Layout.Header>
      <Layout.Content>
        <ErrorBoundary key={location.pathname}>
          <Suspense fallback={<Loading />}>
            <Routes>
              <Route path="/" element={<Navigate to="/flows" replace />} />
              <Route path="/flows" element={<FlowsPage />} />
              <Route path="/flows/:id" element={<EditorPage />} />
              <Route path="/runs" element={<RunsPage />} />
              <Route path="/runs/:id" element={<RunPage />} />
              <Route path="/admin" element={<Navigate to="/admin/credentials" replace />} />
              <Route path="/admin/credentials" element={<CredentialsPage />} />
              <Route path="/admin/users" element={<UsersPage />} />
              <Route path="/admin/tokens" element={<TokensPage />} />
              <Route path="/admin/audit" element={<AuditPage />} />
              <Route path="/admin/rejections" element={<RejectionsPage />} />
              <Route path="*" element={<div className="ferry-page"><ErrorAlert error={new Error(t('common.notFound'))} /></div>} />
            </Routes>
          </Suspense>
        </ErrorBoundary>
      </Layout.Content>
    </Layout>
  );
}
