import { createElement, type ReactElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { App as AntApp } from 'antd';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import i18n from '../i18n';
import { ApiError } from '../api/client';
import type { Field, Option, PollState } from '../api/types';
import { fetchFieldOptions, LoadedSelect } from '../editor/LoadedSelect';
import { ParamForm } from '../editor/ParamForm';
import { PollingState } from '../editor/PollingPanel';
import {
  backfillSince, choicesFor, dependencies, initialMode, isExpressionValue, optionsQueryKey, optionsStatus, optionsUrl, pollFor, staleChoice,
} from '../editor/loadedOptions';

// A field whose choices come from the provider account, as a connector's spec declares it.
const location: Field = {
  name: 'location', label: 'Location', type: 'select', expression: true, loadOptions: true,
  description: 'Fulfil only what ships from this location.',
};
const listed: Option[] = [
  { value: 'gid://shopify/Location/1', label: 'Warehouse Berlin' },
  { value: 'gid://shopify/Location/2', label: 'Shop Shanghai' },
];
const NODE = 'shopify.fulfillment.create';

afterEach(() => vi.unstubAllGlobals());
beforeAll(() => {
  const error = console.error;
  console.error = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('useLayoutEffect does nothing on the server')) return;
    error(...args);
  };
});

/** render draws el on the server side of React with a query cache prepared by seed. */
function render(el: ReactElement, seed: (c: QueryClient) => void = () => {}): string {
  // retryOnMount off: a refusal already in the cache is shown as it is instead of being asked again.
  const client = new QueryClient({ defaultOptions: { queries: { retry: false, retryOnMount: false, staleTime: Infinity } } });
  seed(client);
  return renderToStaticMarkup(createElement(QueryClientProvider, { client }, createElement(AntApp, null, el)));
}

const select = (value: unknown, credential: string | null = 'cred-1') =>
  createElement(LoadedSelect, { source: { nodeType: NODE, credential: credential ?? undefined }, field: location, value, onChange: () => {} });

describe('choices loaded from the account', () => {
  it('are listed with the step\'s credential, and listed anew for another credential', () => {
    expect(optionsUrl(NODE, 'location', 'c 1/2')).toBe('/api/v1/nodes/shopify.fulfillment.create/options/location?credential=c%201%2F2');
    expect(optionsQueryKey(NODE, 'location', 'a')).not.toEqual(optionsQueryKey(NODE, 'location', 'b'));
    expect(optionsQueryKey(NODE, 'location', undefined)).toEqual(['field-options', NODE, 'location', '']);
  });

  it('ask the server past its cache only when refreshed, and keep the provider\'s refusal with its code', async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ options: listed }), { status: 200 }));
    vi.stubGlobal('fetch', fetch);
    expect(await fetchFieldOptions(NODE, 'location', 'cred-1')).toEqual(listed);
    await fetchFieldOptions(NODE, 'location', 'cred-1', true);
    const urls = fetch.mock.calls.map((c) => (c as unknown as [string])[0]);
    expect(urls).toEqual([optionsUrl(NODE, 'location', 'cred-1'), optionsUrl(NODE, 'location', 'cred-1') + '&fresh=1']);

    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ error: { code: 'shopify_access_denied',
      message: 'shopify: POST /graphql.json: Access denied for locations field. Required access: read_locations' } }), { status: 502 })));
    const err = await fetchFieldOptions(NODE, 'location', 'cred-1').catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('shopify_access_denied');
    expect(err.message).toContain('read_locations');

    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ options: null }), { status: 200 })));
    expect(await fetchFieldOptions(NODE, 'location', 'cred-1')).toEqual([]);
  });

  it('open an expression in the expression editor and any other value in the list', () => {
    expect(isExpressionValue('{{ trigger.body.location }}')).toBe(true);
    expect(isExpressionValue('gid://shopify/Location/1')).toBe(false);
    expect(isExpressionValue(42)).toBe(false);
    expect(initialMode('{{ vars.where }}')).toBe('expression');
    expect(initialMode(undefined)).toBe('list');
  });

  it('keep a value the account does not list, first and marked, and never add an empty one', () => {
    expect(choicesFor(listed, 'gid://shopify/Location/2')).toEqual(listed);
    const kept = choicesFor(listed, 'gid://shopify/Location/9');
    expect(kept[0]).toEqual({ value: 'gid://shopify/Location/9', label: 'gid://shopify/Location/9', unlisted: true });
    expect(kept).toHaveLength(3);
    expect(choicesFor(undefined, '')).toEqual([]);
    expect(choicesFor([], 7)).toEqual([{ value: '7', label: '7', unlisted: true }]);
    expect(choicesFor([{ value: 'open', label: '' }], undefined)).toEqual([{ value: 'open', label: 'open' }]);
  });

  it('say whether a credential is missing, the list is loading, refused, empty or ready', () => {
    expect(optionsStatus(undefined, { isPending: true, isError: false })).toBe('noCredential');
    expect(optionsStatus('c', { isPending: true, isError: false })).toBe('loading');
    expect(optionsStatus('c', { isPending: false, isError: true })).toBe('error');
    expect(optionsStatus('c', { isPending: false, isError: false, data: [] })).toBe('empty');
    expect(optionsStatus('c', { isPending: false, isError: false, data: listed })).toBe('ready');
  });
});

// A deal's pipeline and the stage whose choices depend on it, as HubSpot's deal upsert declares them.
const DEAL = 'hubspot.deal.upsert';
const pipeline: Field = { name: 'pipeline', label: 'Pipeline', type: 'select', expression: true, loadOptions: true };
const stage: Field = { name: 'stage', label: 'Stage', type: 'select', expression: true, loadOptions: true, optionsDependOn: ['pipeline'] };
const salesStages: Option[] = [{ value: 'appointmentscheduled', label: 'Appointment scheduled' }, { value: 'closedwon', label: 'Closed won' }];

describe('choices that depend on another field', () => {
  it('read the values they depend on from the node\'s params, and are ready only when each holds a value picked or typed', () => {
    expect(dependencies(stage, { pipeline: ' default ' }, [pipeline, stage])).toEqual({ values: { pipeline: 'default' }, missing: [], expressions: [], ready: true });
    expect(dependencies(stage, {}, [pipeline, stage])).toEqual({ values: {}, missing: ['Pipeline'], expressions: [], ready: false });
    expect(dependencies(stage, { pipeline: '{{ trigger.body.pipeline }}' }, [pipeline, stage]))
      .toEqual({ values: {}, missing: [], expressions: ['Pipeline'], ready: false });
    expect(dependencies(stage, { pipeline: 771 }, undefined).values).toEqual({ pipeline: '771' });
    expect(dependencies(stage, undefined, undefined).missing).toEqual(['pipeline']);
    expect(dependencies(location, { pipeline: 'x' }, [location])).toEqual({ values: {}, missing: [], expressions: [], ready: true });
  });

  it('send those values as params and are cached apart for each of them', () => {
    expect(optionsUrl(DEAL, 'stage', 'c1', { pipeline: 'new deals?' }))
      .toBe('/api/v1/nodes/hubspot.deal.upsert/options/stage?credential=c1&params=%7B%22pipeline%22%3A%22new%20deals%3F%22%7D');
    expect(optionsUrl(DEAL, 'stage', 'c1', {})).toBe(optionsUrl(DEAL, 'stage', 'c1'));
    expect(optionsQueryKey(DEAL, 'stage', 'c1', { pipeline: 'default' })).not.toEqual(optionsQueryKey(DEAL, 'stage', 'c1', { pipeline: '771' }));
    expect(optionsQueryKey(DEAL, 'stage', 'c1', {})).toEqual(optionsQueryKey(DEAL, 'stage', 'c1'));
  });

  it('ask for the field they depend on before the list loads, after the credential', () => {
    const q = { isPending: true, isError: false };
    expect(optionsStatus('c', q, dependencies(stage, {}, [pipeline]))).toBe('dependencyMissing');
    expect(optionsStatus(undefined, q, dependencies(stage, {}, [pipeline]))).toBe('noCredential');
    expect(optionsStatus('c', q, dependencies(stage, { pipeline: '{{ vars.p }}' }, [pipeline]))).toBe('dependencyExpression');
    expect(optionsStatus('c', q, dependencies(stage, { pipeline: 'default' }, [pipeline]))).toBe('loading');
  });

  it('clear a value picked before the field they depend on changed, once the new list is in and lacks it', () => {
    expect(staleChoice(true, [{ value: '1022', label: 'Renewal due' }], 'closedwon')).toBe(true);
    expect(staleChoice(true, [], 'closedwon')).toBe(true);
    expect(staleChoice(true, salesStages, 'closedwon')).toBe(false);
    expect(staleChoice(true, undefined, 'closedwon')).toBe(false);
    expect(staleChoice(true, salesStages, '{{ trigger.body.stage }}')).toBe(false);
    expect(staleChoice(true, salesStages, undefined)).toBe(false);
    // A saved value the account no longer lists is kept and marked, never cleared by opening the node.
    expect(staleChoice(false, [{ value: '1022', label: 'Renewal due' }], 'closedwon')).toBe(false);
  });

  it('are listed with the pipeline chosen in the form, and wait for one', async () => {
    await i18n.changeLanguage('en');
    const form = (values: Record<string, unknown>) => createElement(ParamForm, { fields: [pipeline, stage], values,
      source: { nodeType: DEAL, credential: 'cred-1' }, onChange: () => {} });
    const seeded = (c: QueryClient) => c.setQueryData(optionsQueryKey(DEAL, 'stage', 'cred-1', { pipeline: 'default' }), salesStages);
    const chosen = render(form({ pipeline: 'default', stage: 'closedwon' }), seeded);
    expect(chosen).toContain('Closed won');
    expect(chosen).not.toContain('Choose Pipeline first');
    const waiting = render(form({}), seeded);
    expect(waiting).toContain('Choose Pipeline first to load these choices');
    // A stage kept from before is shown and marked while the pipeline is missing, not dropped.
    const kept = render(form({ stage: 'closedwon' }), seeded);
    expect(kept).toContain('closedwon');
    expect(kept).toContain('Choose Pipeline first to load these choices');
    expect(render(form({ pipeline: '{{ trigger.body.pipeline }}' }), seeded)).toContain('Pipeline is an expression, known only when the step runs');
  });

  it('ask for the pipeline in Chinese', async () => {
    await i18n.changeLanguage('zh-CN');
    const html = render(createElement(LoadedSelect, { source: { nodeType: DEAL, credential: 'cred-1' }, field: stage, value: undefined,
      params: {}, fields: [{ ...pipeline, label: '管道' }, stage], onChange: () => {} }));
    expect(html).toContain('请先选择管道，再加载这些可选项');
    await i18n.changeLanguage('en');
  });

  it('fetch with the values they depend on', async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ options: salesStages }), { status: 200 }));
    vi.stubGlobal('fetch', fetch);
    expect(await fetchFieldOptions(DEAL, 'stage', 'cred-1', true, { pipeline: 'default' })).toEqual(salesStages);
    expect((fetch.mock.calls[0] as unknown as [string])[0]).toBe(optionsUrl(DEAL, 'stage', 'cred-1', { pipeline: 'default' }) + '&fresh=1');
  });
});

describe('the loaded dropdown', () => {
  it('shows the picked choice by its label, with a refresh button and the expression toggle', async () => {
    await i18n.changeLanguage('en');
    const html = render(select('gid://shopify/Location/1'), (c) => c.setQueryData(optionsQueryKey(NODE, 'location', 'cred-1'), listed));
    expect(html).toContain('Warehouse Berlin');
    expect(html).toContain('aria-label="Load the choices again"');
    expect(html).toContain('aria-label="Type an expression instead"');
    expect(html).not.toContain('not in the account');
  });

  it('keeps a value the account does not list visible, and says so', () => {
    const html = render(select('gid://shopify/Location/9'), (c) => c.setQueryData(optionsQueryKey(NODE, 'location', 'cred-1'), listed));
    expect(html).toContain('gid://shopify/Location/9');
    expect(html).toContain('not in the account&#x27;s list');
    expect(html).toContain('the provider judges it when the step runs');
  });

  it('opens an expression in the expression editor, with the toggle back to the list', () => {
    const html = render(select('{{ trigger.body.location }}'), (c) => c.setQueryData(optionsQueryKey(NODE, 'location', 'cred-1'), listed));
    expect(html).toContain('aria-label="Pick from the account&#x27;s list instead"');
    expect(html).toContain('aria-pressed="true"');
    expect(html).toContain('The value is worked out when the step runs');
    expect(html).not.toContain('Warehouse Berlin');
  });

  it('asks for a credential before it can list anything', () => {
    const html = render(select(undefined, null));
    expect(html).toContain('Choose a credential to load the choices from the account');
    expect(html).toMatch(/<button[^>]*disabled=""[^>]*aria-label="Load the choices again"|aria-label="Load the choices again"[^>]*disabled=""/);
  });

  it('says it is loading, and that the account lists nothing', () => {
    expect(render(select(undefined))).toContain('Loading the choices from the account');
    expect(render(select(undefined), (c) => c.setQueryData(optionsQueryKey(NODE, 'location', 'cred-1'), []))).toContain('The account lists no choices for this field.');
  });

  it('shows the provider\'s refusal with its message and code', () => {
    const html = render(select(undefined), (c) => {
      const q = c.getQueryCache().build(c, { queryKey: optionsQueryKey(NODE, 'location', 'cred-1') });
      q.setState({ status: 'error', fetchStatus: 'idle', error: new ApiError(502, 'shopify_access_denied', 'Access denied for locations field. Required access: read_locations') });
    });
    expect(html).toContain('Access denied for locations field. Required access: read_locations');
    expect(html).toContain('<code>shopify_access_denied</code>');
  });

  it('is what the node form draws for a field with loadOptions, and only with a node to list for', () => {
    const seeded = (c: QueryClient) => c.setQueryData(optionsQueryKey(NODE, 'location', 'cred-1'), listed);
    const withSource = render(createElement(ParamForm, { fields: [location], values: { location: 'gid://shopify/Location/2' }, source: { nodeType: NODE, credential: 'cred-1' }, onChange: () => {} }), seeded);
    expect(withSource).toContain('Shop Shanghai');
    expect(withSource).toContain('Load the choices again');
    const without = render(createElement(ParamForm, { fields: [location], values: {}, onChange: () => {} }), seeded);
    expect(without).not.toContain('Load the choices again');
  });

  it('speaks Chinese', async () => {
    await i18n.changeLanguage('zh-CN');
    const html = render(select('gid://shopify/Location/9'), (c) => c.setQueryData(optionsQueryKey(NODE, 'location', 'cred-1'), listed));
    expect(html).toContain('不在账户列表中');
    expect(html).toContain('重新加载可选项');
    await i18n.changeLanguage('en');
  });
});

const failing: PollState = {
  nodeId: 'orders', cursor: { time: '2026-12-01T08:00:00Z', id: 'gid://shopify/Order/1002', from: '2026-12-01T07:59:00Z', token: 'eyJ' },
  nextPollAt: '2026-12-01T08:05:00Z', lastPollAt: '2026-12-01T08:04:00Z', lastCount: 3, totalCount: 1250, failures: 2,
  lastError: { code: 'shopify_access_denied', message: 'Access denied for orders field. Required access: read_orders' },
};

describe('the polling panel', () => {
  const state = (poll: PollState | undefined, published = true, manage = true) =>
    render(createElement(PollingState, { flowId: 'f1', nodeId: 'orders', published, poll, manage }));

  it('finds its trigger in the flow\'s list', () => {
    expect(pollFor([{ ...failing, nodeId: 'other' }, failing], 'orders')).toBe(failing);
    expect(pollFor(undefined, 'orders')).toBeUndefined();
  });

  it('shows the cursor, the last poll, its count, the total, the failures in a row and the last error', async () => {
    await i18n.changeLanguage('en');
    const html = state(failing);
    for (const s of ['Stopped at', 'last record gid://shopify/Order/1002', 'a walk started at', 'Last poll', 'Next poll',
      'Found in the last poll', '>3<', '1250', 'Failed polls in a row', '>2</span>', 'Required access: read_orders',
      '<code>shopify_access_denied</code>', '>Reset</span>', '>Backfill</span>', 'aria-label="Backfill from"']) {
      expect(html).toContain(s);
    }
  });

  it('says there is no error after a poll that worked, and offers nothing to change to who may not publish', () => {
    const html = state({ ...failing, failures: 0, lastError: undefined, cursor: { time: failing.cursor.time } }, true, false);
    expect(html).toContain('>None<');
    expect(html).not.toContain('a walk started at');
    expect(html).not.toContain('>Reset</span>');
    expect(html).toContain('Resetting and backfilling needs the right to publish flows.');
  });

  it('says why nothing polls in a draft, and that a published trigger has not polled yet', () => {
    const draft = state(undefined, false);
    expect(draft).toContain('a polling trigger polls only in the published flow');
    expect(draft).not.toContain('>Reset</span>');
    expect(state(undefined, true)).toContain('Not polled yet.');
  });

  it('speaks Chinese', async () => {
    await i18n.changeLanguage('zh-CN');
    const html = state(failing);
    for (const s of ['停在', '上次轮询', '连续失败次数', '最近的错误', '重 置', '回补起始时间']) expect(html).toContain(s);
    await i18n.changeLanguage('en');
  });

  it('backfills only from a readable time in the past', () => {
    const now = new Date('2026-12-07T12:00:00Z');
    expect(backfillSince('2026-12-01T08:00', now)).toBe(new Date('2026-12-01T08:00').toISOString());
    expect(backfillSince('', now)).toBeNull();
    expect(backfillSince('not a date', now)).toBeNull();
    expect(backfillSince('2027-01-01T00:00', now)).toBeNull();
  });
});
