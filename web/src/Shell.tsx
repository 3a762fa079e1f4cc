import { lazy, Suspense } from 'react';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp, Badge, Button, Layout, Menu, Space } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from './api/client';
import type { Me } from './api/types';
import { ErrorAlert, Loading } from './ui';
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
const SettingsPage = lazy(() => import('./pages/admin/SettingsPage'));
const DashboardPage = lazy(() => import('./pages/DashboardPage'));
const DeadLettersPage = lazy(() => import('./pages/DeadLettersPage'));
const TemplatesPage = lazy(() => import('./pages/TemplatesPage'));
const ReviewsPage = lazy(() => import('./pages/ReviewsPage'));

/** ADMIN_PAGES are the admin screens with the permission each needs; the menu shows the caller's only. */
const ADMIN_PAGES = [
  { page: 'credentials', perm: 'credentials:read' },
  { page: 'users', perm: 'users:manage' },
  { page: 'tokens', perm: 'self' },
  { page: 'audit', perm: 'audit:read' },
  { page: 'rejections', perm: 'audit:read' },
  { page: 'settings', perm: 'settings:manage' },
] as const;

/** section names the menu entry a path belongs to. */
function section(path: string): string {
  for (const s of ['dashboard', 'templates', 'runs', 'dead-letters', 'reviews', 'admin']) if (path.startsWith('/' + s)) return s;
  return 'flows';
}

/** Shell is the signed-in app: the header with its menu, and every page behind sign-in. */
export default function Shell({ me }: { me: Me }) {
  const { t } = useTranslation();
  const location = useLocation();
  const queryClient = useQueryClient();
  const may = (perm: string) => me.permissions?.includes(perm) ?? false;
  const adminPages = ADMIN_PAGES.filter((p) => may(p.perm)).map((p) => p.page);
  const adminPage = adminPages.find((p) => location.pathname.startsWith(`/admin/${p}`));
  const current = section(location.pathname);
  const openReviews = useOpenReviews(may('runs:read'));

  const signOut = async () => {
    try {
      await api.post('/api/v1/auth/logout');
    } finally {
      queryClient.clear();
      await queryClient.invalidateQueries();
      window.location.assign('/');
    }
  };

  // AntApp gives the pages their message and modal hooks; it lives here so the sign-in page does not load them.
  return (
    <AntApp>
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Header className="ferry-header">
        <Link to="/flows" className="ferry-brand">Ferry</Link>
        <Menu
          theme="dark"
          mode="horizontal"
          selectedKeys={adminPage ? [current, `admin/${adminPage}`] : [current]}
          items={[
            { key: 'dashboard', label: <Link to="/dashboard">{t('nav.dashboard')}</Link> },
            { key: 'flows', label: <Link to="/flows">{t('nav.flows')}</Link> },
            { key: 'templates', label: <Link to="/templates">{t('nav.templates')}</Link> },
            { key: 'runs', label: <Link to="/runs">{t('nav.runs')}</Link> },
            { key: 'dead-letters', label: <Link to="/dead-letters">{t('nav.deadLetters')}</Link> },
            {
              key: 'reviews',
              label: (
                <Link to="/reviews">
                  {t('nav.reviews')} <Badge count={openReviews} size="small" overflowCount={99} className="ferry-nav-badge" />
                </Link>
              ),
            },
            {
              key: 'admin',
              label: t('nav.admin'),
              children: adminPages.map((p) => ({ key: `admin/${p}`, label: <Link to={`/admin/${p}`}>{t(`nav.adminPages.${p}`)}</Link> })),
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
              <Route path="/dashboard" element={<DashboardPage />} />
              <Route path="/templates" element={<TemplatesPage />} />
              <Route path="/dead-letters" element={<DeadLettersPage />} />
              <Route path="/flows" element={<FlowsPage />} />
              <Route path="/flows/:id" element={<EditorPage />} />
              <Route path="/runs" element={<RunsPage />} />
              <Route path="/runs/:id" element={<RunPage />} />
              <Route path="/reviews" element={<ReviewsPage />} />
              <Route path="/reviews/:id" element={<ReviewsPage />} />
              <Route path="/admin" element={<Navigate to={`/admin/${adminPages[0] ?? 'tokens'}`} replace />} />
              <Route path="/admin/credentials" element={<CredentialsPage />} />
              <Route path="/admin/users" element={<UsersPage />} />
              <Route path="/admin/tokens" element={<TokensPage />} />
              <Route path="/admin/audit" element={<AuditPage />} />
              <Route path="/admin/rejections" element={<RejectionsPage />} />
              <Route path="/admin/settings" element={<SettingsPage />} />
              <Route path="*" element={<div className="ferry-page"><ErrorAlert error={new Error(t('common.notFound'))} /></div>} />
            </Routes>
          </Suspense>
        </ErrorBoundary>
      </Layout.Content>
    </Layout>
    </AntApp>
  );
}

/**
 * useOpenReviews counts the reviews waiting for a decision, for the menu's badge: the list answers with the
 * number of open reviews, so one request for a single item is enough. It is asked again every minute while the
 * tab is shown, whenever the window regains focus, and after every decision (which invalidates ['reviews']).
 */
function useOpenReviews(enabled: boolean): number {
  const open = useQuery({
    queryKey: ['reviews', 'open-count'],
    queryFn: () => api.get<{ open?: number }>('/api/v1/reviews?status=open&limit=1'),
    enabled,
    refetchInterval: 60_000,
    refetchIntervalInBackground: false,
    refetchOnWindowFocus: true,
    retry: false,
  });
  return open.data?.open ?? 0;
}
