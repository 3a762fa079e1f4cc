import { useState } from 'react';
import { Button, Space } from 'antd';
import { useTranslation } from 'react-i18next';

export const ROLES = ['admin', 'editor', 'operator', 'viewer'] as const;

/** rolesUpTo lists the roles no higher than the given one, highest first. */
export function rolesUpTo(role: string): string[] {
  const i = ROLES.indexOf(role as (typeof ROLES)[number]);
  return i < 0 ? [...ROLES] : ROLES.slice(i);
}

/** useCursorPages keeps the cursors of the pages seen so far; cursors[i] loads page i, page 0 needs none. */
export function useCursorPages() {
  const [cursors, setCursors] = useState<string[]>(['']);
  const page = cursors.length - 1;
  return {
    page,
    cursor: cursors[page],
    reset: () => setCursors(['']),
    previous: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
    next: (cursor: string) => setCursors((c) => [...c, cursor]),
  };
}

export function Pager({ pages, nextCursor }: { pages: ReturnType<typeof useCursorPages>; nextCursor?: string }) {
  const { t } = useTranslation();
  return (
    <Space style={{ marginTop: 16 }}>
      <Button disabled={pages.page === 0} onClick={pages.previous}>{t('runs.previous')}</Button>
      <span>{t('runs.page', { page: pages.page + 1 })}</span>
      <Button disabled={!nextCursor} onClick={() => nextCursor && pages.next(nextCursor)}>{t('runs.next')}</Button>
    </Space>
  );
}
