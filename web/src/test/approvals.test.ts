import { describe, expect, it } from 'vitest';
import { approvalDecision, decidedApproval, markdownBlocks, markdownInline, mayDecide, type Review } from '../pages/reviews';

const review = (request: unknown): Review => ({
  id: 'w1', runId: 'r1', flowId: 'f1', nodeId: 'ask', kind: 'approval', status: 'open', createdAt: '', request,
});

describe('approvalDecision', () => {
  const strict = { title: 't', commentRequiredOnReject: true };
  it('approves with or without a comment', () => {
    expect(approvalDecision(strict, true, '')).toEqual({ approve: true });
    expect(approvalDecision(strict, true, '  fine ')).toEqual({ approve: true, comment: 'fine' });
  });
  it('needs a comment to reject when the approval says so', () => {
    expect(approvalDecision(strict, false, ' ')).toBeNull();
    expect(approvalDecision(strict, false, 'too much')).toEqual({ approve: false, comment: 'too much' });
    expect(approvalDecision({ title: 't' }, false, '')).toEqual({ approve: false });
  });
  it('reads a decided approval', () => {
    expect(decidedApproval({ approve: false, comment: 'no' })).toEqual({ approve: false, comment: 'no' });
    expect(decidedApproval({ pick: 'a' })).toBeUndefined();
  });
});

describe('mayDecide', () => {
  const approval = review({ title: 't', assignee: { role: 'editor', users: ['fin@example.com'] } });
  it('lets the assigned role, the listed people and admins decide', () => {
    expect(mayDecide(approval, { email: 'ed@example.com', role: 'editor', permissions: [] })).toBe(true);
    expect(mayDecide(approval, { email: 'FIN@example.com', role: 'viewer', permissions: [] })).toBe(true);
    expect(mayDecide(approval, { email: 'root@example.com', role: 'admin', permissions: [] })).toBe(true);
    expect(mayDecide(approval, { email: 'ops@example.com', role: 'operator', permissions: ['runs:operate'] })).toBe(false);
  });
  it('leaves reviews that name nobody to those who operate runs', () => {
    const conflict = { ...review({ fields: [] }), kind: 'crm.conflict' };
    expect(mayDecide(conflict, { role: 'operator', permissions: ['runs:operate'] })).toBe(true);
    expect(mayDecide(conflict, { role: 'viewer', permissions: ['runs:read'] })).toBe(false);
  });
});

describe('markdownBlocks', () => {
  it('reads paragraphs, lists, headings and inline marks', () => {
    expect(markdownBlocks('# Refund\n\nOrder **A-1** for *Ana*\nsecond line\n\n- one\n- `two`\n1. first')).toEqual([
      { kind: 'heading', text: [{ kind: 'text', text: 'Refund' }] },
      { kind: 'paragraph', lines: [
        [{ kind: 'text', text: 'Order ' }, { kind: 'bold', text: 'A-1' }, { kind: 'text', text: ' for ' }, { kind: 'italic', text: 'Ana' }],
        [{ kind: 'text', text: 'second line' }],
      ] },
      { kind: 'list', ordered: false, items: [[{ kind: 'text', text: 'one' }], [{ kind: 'code', text: 'two' }]] },
      { kind: 'list', ordered: true, items: [[{ kind: 'text', text: 'first' }]] },
    ]);
  });
  it('keeps only safe links and never reads HTML', () => {
    expect(markdownInline('[order](https://shop.example.com/o/1)')).toEqual([{ kind: 'link', text: 'order', href: 'https://shop.example.com/o/1' }]);
    expect(markdownInline('[x](javascript:alert(1))')[0].kind).toBe('text');
    expect(markdownInline('<img src=x onerror=alert(1)>')).toEqual([{ kind: 'text', text: '<img src=x onerror=alert(1)>' }]);
  });
});
