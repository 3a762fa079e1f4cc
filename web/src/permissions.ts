import { useQuery } from '@tanstack/react-query';
import { api } from './api/client';
import type { Me } from './api/types';

/**
 * useCan answers whether the signed-in caller's role holds a permission (the names of server/auth/roles.go, such
 * as 'flows:write'), from GET /api/v1/auth/me, so screens offer only the actions the server would allow. The
 * server still checks every call; before the answer arrives nothing is offered.
 */
export function useCan(): (permission: string) => boolean {
  const me = useQuery({ queryKey: ['me'], queryFn: () => api.get<Me>('/api/v1/auth/me'), staleTime: 60_000 });
  const held = new Set(me.data?.permissions ?? []);
  return (permission) => held.has(permission);
}
