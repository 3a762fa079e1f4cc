import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import {
  chooseAll, conflictDecision, conflictFields, decidedCandidate, decidedChoices, deciderName, isClosed, matchCandidates, matchDecision,
  missingChoices, NONE_OF_THESE, reviewTitle, showValue,
} from '../pages/reviews';

const fields = [
  { name: 'phone', source: '+8613800138000', target: '+8613900139000' },
  { name: 'firstname', source: 'Fang', target: 'Fang W.' },
  { name: 'city', source: 'Shanghai', target: null },
];

describe('conflictDecision', () => {
  it('is not ready while a field has no side', () => {
    expect(conflictDecision(fields, {})).toBeNull();
    expect(conflictDecision(fields, { phone: 'source', firstname: 'target' })).toBeNull();
    expect(missingChoices(fields, { phone: 'source', firstname: 'target' })).toEqual(['city']);
    expect(missingChoices(fields, {})).toEqual(['phone', 'firstname', 'city']);
  });
  it('keeps the side picked for every field', () => {
    expect(conflictDecision(fields, { phone: 'source', firstname: 'target', city: 'source' })).toEqual({
      fields: { phone: 'source', firstname: 'target', city: 'source' },
    });
  });
  it('leaves out choices for fields the review does not list', () => {
    expect(conflictDecision(fields, { phone: 'target', firstname: 'target', city: 'target', email: 'source' })).toEqual({
      fields: { phone: 'target', firstname: 'target', city: 'target' },
    });
  });
  it('refuses a side that is neither source nor target', () => {
    const odd = { phone: 'source', firstname: 'both', city: 'source' } as unknown as Parameters<typeof conflictDecision>[1];
    expect(conflictDecision(fields, odd)).toBeNull();
  });
  it('has nothing to decide without fields', () => {
    expect(conflictDecision([], {})).toBeNull();
  });
});

describe('chooseAll', () => {
  it('picks the source for every field', () => {
    expect(conflictDecision(fields, chooseAll(fields, 'source'))).toEqual({ fields: { phone: 'source', firstname: 'source', city: 'source' } });
  });
  it('picks the target for every field, and one field can still be changed after', () => {
    const all = chooseAll(fields, 'target');
    expect(conflictDecision(fields, all)).toEqual({ fields: { phone: 'target', firstname: 'target', city: 'target' } });
    expect(conflictDecision(fields, { ...all, phone: 'source' })).toEqual({ fields: { phone: 'source', firstname: 'target', city: 'target' } });
  });
});

describe('matchDecision', () => {
  const candidates = [{ id: '101', label: 'Wang Fang' }, { id: '102', label: 'Fang Wang' }];
  it('is not ready while nothing is picked', () => {
    expect(matchDecision(candidates, undefined)).toBeNull();
  });
  it('names the picked candidate', () => {
    expect(matchDecision(candidates, '102')).toEqual({ candidate: '102' });
  });
  it('sends an empty candidate for "none of these"', () => {
    expect(matchDecision(candidates, NONE_OF_THESE)).toEqual({ candidate: '' });
    expect(matchDecision([], NONE_OF_THESE)).toEqual({ candidate: '' });
  });
  it('refuses a pick that is not a candidate', () => {
    expect(matchDecision(candidates, '999')).toBeNull();
  });
});

describe('reading reviews', () => {
  it('reads fields and candidates, and nothing from a malformed request', () => {
    expect(conflictFields({ fields })).toHaveLength(3);
    expect(conflictFields(null)).toEqual([]);
    expect(conflictFields({ fields: 'x' })).toEqual([]);
    expect(matchCandidates({ candidates: [{ id: '1' }, { label: 'no id' }] })).toEqual([{ id: '1' }]);
    expect(matchCandidates(undefined)).toEqual([]);
  });
  it('reads a decision back', () => {
    expect(decidedChoices({ fields: { phone: 'source', city: 'target', x: 'other' } })).toEqual({ phone: 'source', city: 'target' });
    expect(decidedChoices(undefined)).toEqual({});
    expect(decidedCandidate({ candidate: '' })).toBe('');
    expect(decidedCandidate({ candidate: '7' })).toBe('7');
    expect(decidedCandidate(undefined)).toBeUndefined();
  });
  it('names who decided', () => {
    expect(deciderName('ops@shop.example')).toBe('ops@shop.example');
    expect(deciderName({ id: 'u1', email: 'ops@shop.example' })).toBe('ops@shop.example');
    expect(deciderName(undefined)).toBe('');
  });
  it('tells a closed review from other refusals', () => {
    expect(isClosed(new ApiError(409, 'review_closed', 'review is decided'))).toBe(true);
    expect(isClosed(new ApiError(400, 'review_decision_invalid', 'field city has no side'))).toBe(false);
    expect(isClosed(new Error('network'))).toBe(false);
  });
  it('shows values as text', () => {
    expect(showValue('Shanghai')).toBe('Shanghai');
    expect(showValue(null)).toBe('');
    expect(showValue(42)).toBe('42');
    expect(showValue({ a: 1 })).toBe('{"a":1}');
  });
});

describe('reviewTitle', () => {
  const t = (key: string, o: Record<string, unknown>) => `${key} ${JSON.stringify(o)}`;
  const base = { id: 'rv1', runId: 'r', flowId: 'f', nodeId: 'n', status: 'open' as const, createdAt: '', title: 'server title' };
  it('names a conflict by its record and how many fields differ', () => {
    expect(reviewTitle({ ...base, kind: 'crm.conflict', request: { provider: 'hubspot', object: 'contact', key: { name: 'email', value: 'a@example.com' }, fields } }, t))
      .toBe('reviews.titles.conflict {"object":"reviews.objects.contact {\\"defaultValue\\":\\"contact\\"}","record":"a@example.com","count":3}');
  });
  it('names a match by its customer and how many records may be them', () => {
    expect(reviewTitle({ ...base, kind: 'crm.match', request: { customer: { email: '', phone: '+86138' }, candidates: [{ id: '1' }, { id: '2' }] } }, t))
      .toBe('reviews.titles.match {"customer":"+86138","count":2}');
  });
  it('keeps the server\'s title for a kind it does not know, or a request it cannot read', () => {
    expect(reviewTitle({ ...base, kind: 'approval', request: {} }, t)).toBe('server title');
    expect(reviewTitle({ ...base, kind: 'crm.conflict', request: null }, t)).toBe('server title');
  });
});
