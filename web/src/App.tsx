import { lazy, Suspense } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, ApiError } from './api/client';
import type { Me } from './api/types';
import { ErrorAlert, Loading } from './ui';

// The signed-in app (menu, pages, editor) is loaded on demand, so the sign-in and setup page stays small.
const Shell = lazy(() => import('./Shell'));
// Sign-in and setup are their own chunk too: a signed-in visit never needs their form code.
const GatePage = lazy(() => import('./pages/GatePage'));

export function App() {
  const setup = useQuery({ queryKey: ['setup'], queryFn: () => api.get<{ required: boolean }>('/api/v1/setup') });
  const me = useQuery({
    queryKey: ['me'],
    queryFn: () => api.get<Me>('/api/v1/auth/me'),
    enabled: setup.data?.required === false,
  });

  if (setup.isPending) return <Loading />;
  if (setup.isError) return <div className="ferry-page"><ErrorAlert error={setup.error} /></div>;
  if (setup.data.required) return <Suspense fallback={<Loading />}><GatePage mode="setup" /></Suspense>;
  if (me.isPending) return <Loading />;
  if (me.isError) {
    const signedOut = me.error instanceof ApiError && (me.error.status === 401 || me.error.status === 403);
    return signedOut ? <Suspense fallback={<Loading />}><GatePage mode="login" /></Suspense> : <div className="ferry-page"><ErrorAlert error={me.error} /></div>;
  }
  return <Suspense fallback={<Loading />}><Shell me={me.data} /></Suspense>;
}

