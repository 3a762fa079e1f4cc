// End-to-end test of the web app in a real browser: Debian's Chromium, driven by playwright-core, against a real
// ferry started here on a private data directory. It sets Ferry up, signs out and in again, builds a
// webhook → map → condition → respond flow by dragging from the palette, test-runs it, maps a field by dragging
// it from the input pane into the mapping table, test-runs again, publishes, sends webhooks, finds the run by its
// business key, retries a dead letter, builds a Shopify fulfilment flow whose location dropdown is listed from a
// stand-in store, builds a Stripe payment → HubSpot deal flow whose stage dropdown lists the stages of the pipeline
// picked from a stand-in HubSpot account (listed again when the pipeline changes), shows a polling trigger's state with its reset and backfill, resolves a CRM review parked by a HubSpot contact upsert in the Reviews screen, visits every screen at 1280×800 and 1920×1080, checks what each role sees of the admin
// screens, and checks that the Chinese interface has no English left. Every page runs under the
// server's Content-Security-Policy, and any violation fails the test. Screenshots of each screen go
// to e2e/screenshots/ (not committed).
//
// The Shopify stand-in answers the Admin API's GraphQL on https://e2e-shop.myshopify.com, as the real
// connector addresses it (Shopify serves the Admin API only on the store's myshopify.com domain). Ferry reaches
// it the way it reaches the internet behind a proxy: HTTPS_PROXY names a local CONNECT proxy that tunnels to the
// stand-in, whose certificate comes from a throwaway authority given to Ferry in SSL_CERT_FILE. The name
// resolves to 127.0.0.1 through a hosts file bind-mounted for the ferry process alone (unshare --mount, so
// root), and FERRY_ALLOWED_INTERNAL_HOSTS lets the egress guard reach it. The HubSpot stand-in answers
// https://api.hubapi.com (the pipelines, the stages of one pipeline, the owners; a contact's read and the batch
// upsert) the same way, with the same authority and certificate.
//
//   FERRY_BIN=/path/to/ferry npm run e2e      (CHROMIUM defaults to /usr/bin/chromium; needs openssl, unshare)
import { chromium } from 'playwright-core';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { gzipSync } from 'node:zlib';

const bin = process.env.FERRY_BIN;
if (!bin) {
  console.error('FERRY_BIN must name a built ferry binary');
  process.exit(2);
}
const shots = new URL('./screenshots/', import.meta.url).pathname;
rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });

const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), 'ferry-e2e-'));

// The Shopify stand-in: a certificate for the store's domain from a throwaway authority.
const SHOP = 'e2e-shop.myshopify.com';
const SHOP_TOKEN = 'shpat_e2e_token';
const LOCATIONS = [
  { id: 'gid://shopify/Location/71', name: 'Warehouse Berlin' },
  { id: 'gid://shopify/Location/72', name: 'Shop Shanghai' },
];
// The HubSpot stand-in answers on HubSpot's own API host, reached the same way as the store. Its account has two
// deal pipelines, each with its stages, an owner, and one contact (below).
const HUB = 'api.hubapi.com';
const HUB_TOKEN = 'pat-na1-e2e-token';
const HUB_STAGES = {
  default: [{ id: 'appointmentscheduled', label: 'Appointment scheduled', displayOrder: 0 }, { id: 'closedwon', label: 'Closed won', displayOrder: 1 }],
  771: [{ id: '1022', label: 'Renewal due', displayOrder: 0 }, { id: '1023', label: 'Renewed', displayOrder: 1 }],
};
const HUB_PIPELINES = [{ id: 'default', label: 'Sales Pipeline', displayOrder: 0 }, { id: '771', label: 'Renewals', displayOrder: 1 }];
const tlsDir = mkdtempSync(join(tmpdir(), 'ferry-e2e-shop-'));
{
  const ssl = (...args) => execFileSync('openssl', args, { cwd: tlsDir, stdio: ['ignore', 'ignore', 'pipe'] });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-days', '2', '-subj', '/CN=Ferry e2e authority', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'shop.key', '-out', 'shop.csr', '-subj', `/CN=${SHOP}`);
  writeFileSync(join(tlsDir, 'shop.ext'), `subjectAltName=DNS:${SHOP},DNS:${HUB}\nextendedKeyUsage=serverAuth\n`);
  ssl('x509', '-req', '-in', 'shop.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'shop.pem', '-days', '2', '-extfile', 'shop.ext');
}
// The store's orders, as the Admin API's GraphQL gives them, for the polling trigger; shopDenies makes the
// store refuse the orders query as it does for a token without the read_orders scope.
const shopOrder = (n, updatedAt) => {
  const money = (amount) => ({ shopMoney: { amount, currencyCode: 'EUR' } });
  return {
    id: `gid://shopify/Order/${5000 + n}`, legacyResourceId: String(5000 + n), name: `#${1000 + n}`, createdAt: '2026-11-01T08:00:00Z',
    updatedAt, processedAt: '2026-11-01T08:00:00Z', cancelledAt: null, cancelReason: null, closedAt: null,
    displayFinancialStatus: 'PAID', displayFulfillmentStatus: 'UNFULFILLED', email: 'ada@example.com', phone: null, note: null,
    tags: ['web'], currencyCode: 'EUR', totalPriceSet: money('149.99'), totalShippingPriceSet: money('15.0'), totalDiscountsSet: money('0.0'),
    customer: { id: 'gid://shopify/Customer/7', displayName: 'Ada Lovelace', firstName: 'Ada', lastName: 'Lovelace',
      defaultEmailAddress: { emailAddress: 'ada@example.com' }, defaultPhoneNumber: { phoneNumber: '+4930901820' } },
    lineItems: { nodes: [{ sku: 'TEA-1', name: 'Sencha', quantity: 2, originalUnitPriceSet: money('67.50') }] },
  };
};
const SHOP_ORDERS = [shopOrder(1, '2026-11-20T10:00:00Z'), shopOrder(2, '2026-11-20T10:00:00Z'), shopOrder(3, '2026-11-21T09:30:00Z')];
let shopDenies = false;
// What the stand-in was asked: each GraphQL operation with the token it came with.
const shopCalls = [];
const shopServer = https.createServer({ key: readFileSync(join(tlsDir, 'shop.key')), cert: readFileSync(join(tlsDir, 'shop.pem')) }, (req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const answer = (status, v) => { res.writeHead(status, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(v)); };
    if (req.method !== 'POST' || !/^\/admin\/api\/\d{4}-\d{2}\/graphql\.json$/.test(req.url)) return answer(404, { errors: 'Not Found' });
    if (req.headers['x-shopify-access-token'] !== SHOP_TOKEN) return answer(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
    let q;
    try { q = JSON.parse(body); } catch { return answer(400, { errors: { query: 'Required parameter missing or invalid' } }); }
    const op = /^\s*(query|mutation)\s+(\w+)/.exec(q.query ?? '')?.[2] ?? '';
    shopCalls.push({ op, token: req.headers['x-shopify-access-token'] });
    if (op === 'FerryLocations' && /locations\(first: \d+/.test(q.query)) {
      return answer(200, { data: { locations: { nodes: LOCATIONS } } });
    }
    if (op === 'FerryOrdersChanged') {
      if (shopDenies) {
        return answer(200, { errors: [{ message: 'Access denied for orders field. Required access: `read_orders` access scope.', extensions: { code: 'ACCESS_DENIED' } }] });
      }
      const since = /updated_at:>='([^']+)'/.exec(q.variables?.query ?? '')?.[1];
      if (!since) return answer(200, { errors: [{ message: `bad orders query ${q.variables?.query}` }] });
      const nodes = SHOP_ORDERS.filter((o) => Date.parse(o.updatedAt) >= Date.parse(since));
      return answer(200, { data: { orders: { nodes, pageInfo: { hasNextPage: false, endCursor: null } } } });
    }
    return answer(200, { errors: [{ message: `the stand-in does not answer ${op || 'this document'}`, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
  });
});
const shopPort = await new Promise((resolve) => shopServer.listen(0, '127.0.0.1', () => resolve(shopServer.address().port)));

// The HubSpot stand-in: the deal pipelines, the stages of one pipeline and the owners, listed as choices in the
// editor; and one contact, read by its e-mail (GET /crm/v3/objects/contacts/{email}?idProperty=email) and written
// by the batch upsert, as the HubSpot actions call them. hubCalls keeps each request as method, path and query;
// hubspotUpserts keeps each upsert's inputs.
const hubspotContacts = new Map([['501', {
  id: '501', createdAt: '2026-10-01T08:00:00Z', updatedAt: '2026-11-30T08:00:00Z', archived: false,
  properties: { hs_object_id: '501', email: 'wang.fang@example.com', firstname: 'Fang', phone: '+8613900139000', city: 'Suzhou',
    createdate: '2026-10-01T08:00:00Z', lastmodifieddate: '2026-11-30T08:00:00Z' },
}]]);
const hubspotUpserts = [];
const hubCalls = [];
const hubServer = https.createServer({ key: readFileSync(join(tlsDir, 'shop.key')), cert: readFileSync(join(tlsDir, 'shop.pem')) }, (req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const answer = (status, v) => { res.writeHead(status, { 'Content-Type': 'application/json;charset=utf-8' }); res.end(JSON.stringify(v)); };
    const refuse = (status, category, message) => answer(status, { status: 'error', message, correlationId: '5c1e2f4a-0000-4000-8000-e2e000000000', category });
    const url = new URL(req.url, `https://${HUB}`);
    hubCalls.push(`${req.method} ${url.pathname}${url.search}`);
    if (req.headers.authorization !== `Bearer ${HUB_TOKEN}`) {
      return refuse(401, 'INVALID_AUTHENTICATION', 'Authentication credentials not found. This API supports OAuth 2.0 authentication.');
    }
    if (req.method === 'GET' && url.pathname === '/crm/v3/pipelines/deals') {
      return answer(200, { results: HUB_PIPELINES.map((p) => ({ ...p, stages: HUB_STAGES[p.id] })) });
    }
    const stages = /^\/crm\/v3\/pipelines\/deals\/([^/]+)\/stages$/.exec(url.pathname);
    if (req.method === 'GET' && stages) {
      const list = HUB_STAGES[decodeURIComponent(stages[1])];
      return list ? answer(200, { results: list }) : refuse(404, 'OBJECT_NOT_FOUND', `Unable to find pipeline ${stages[1]}`);
    }
    if (req.method === 'GET' && url.pathname === '/crm/v3/owners') {
      return answer(200, { results: [{ id: '41', email: 'li.lei@example.com', archived: false }] });
    }
    const byProperty = (name, value) => [...hubspotContacts.values()].find((c) => c.properties[name] === value);
    const read = /^\/crm\/v3\/objects\/contacts\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && read) {
      const key = decodeURIComponent(read[1]);
      const idProperty = url.searchParams.get('idProperty');
      const c = idProperty && idProperty !== 'hs_object_id' ? byProperty(idProperty, key) : hubspotContacts.get(key);
      if (!c) return refuse(404, 'OBJECT_NOT_FOUND', 'Object not found.  objectId are usually numeric.');
      const wanted = (url.searchParams.get('properties') ?? '').split(',').filter(Boolean);
      const properties = Object.fromEntries(Object.entries(c.properties).filter(([k]) => wanted.length === 0 || wanted.includes(k) || k === 'hs_object_id'));
      return answer(200, { ...c, properties });
    }
    if (req.method === 'POST' && url.pathname === '/crm/v3/objects/contacts/batch/upsert') {
      let doc;
      try { doc = JSON.parse(body); } catch { return refuse(400, 'VALIDATION_ERROR', 'Invalid input JSON on line 1'); }
      hubspotUpserts.push(doc.inputs);
      const now = new Date().toISOString();
      const results = (doc.inputs ?? []).map((input) => {
        let c = byProperty(input.idProperty, input.id);
        const created = !c;
        if (!c) {
          const id = String(600 + hubspotContacts.size);
          c = { id, createdAt: now, archived: false, properties: { hs_object_id: id, createdate: now } };
          hubspotContacts.set(id, c);
        }
        Object.assign(c.properties, input.properties, { lastmodifieddate: now });
        c.updatedAt = now;
        return { ...c, new: created };
      });
      return answer(200, { status: 'COMPLETE', results, startedAt: now, completedAt: now });
    }
    return refuse(404, 'OBJECT_NOT_FOUND', `the stand-in does not answer ${req.method} ${url.pathname}`);
  });
});
const hubPort = await new Promise((resolve) => hubServer.listen(0, '127.0.0.1', () => resolve(hubServer.address().port)));

// The proxy Ferry is given: it tunnels CONNECTs to the store's domain and to HubSpot's API to their stand-ins,
// and refuses the rest.
const tunnels = { [`${SHOP}:443`]: shopPort, [`${HUB}:443`]: hubPort };
const proxy = http.createServer((req, res) => { res.writeHead(405); res.end(); });
proxy.on('connect', (req, socket, head) => {
  const to = tunnels[req.url];
  if (!to) {
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    return;
  }
  const upstream = net.connect(to, '127.0.0.1', () => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
});
const proxyPort = await new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve(proxy.address().port)));
const hostsFile = join(tlsDir, 'hosts');
writeFileSync(hostsFile, `${readFileSync('/etc/hosts', 'utf8')}\n127.0.0.1 ${SHOP}\n127.0.0.1 ${HUB}\n`);

// ferry, in a mount namespace of its own where the store's and HubSpot's names resolve to the loopback address.
const server = spawn('unshare', ['--mount', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hostsFile,
  bin, '--data-dir', dataDir, '--addr', `127.0.0.1:${port}`, '--log-level', 'warn'], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`, SSL_CERT_FILE: join(tlsDir, 'ca.pem'), FERRY_ALLOWED_INTERNAL_HOSTS: `${SHOP},${HUB}` },
});

async function waitReady() {
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('ferry did not start');
}

const ADMIN = { email: 'ops@shop.example', password: 'a long enough password' };
let browser;
let step = 0;
const failures = [];
const check = (ok, message) => { if (!ok) failures.push(message); };

/** api calls Ferry with the admin's API token, for the set-up steps that are not what this test is about. */
let token = '';
async function api(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

// Every Content-Security-Policy violation on any page the test opens: the app must work under its policy.
const cspViolations = [];

async function newPage(viewport, locale = 'en-US') {
  const context = await browser.newContext({ viewport, locale });
  // The browser reports each violation as a securitypolicyviolation event and on the console; both are caught.
  await context.exposeBinding('ferryCspViolation', ({ page }, v) => cspViolations.push({ url: page.url(), ...v }));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.ferryCspViolation({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile, line: e.lineNumber });
    }, true);
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content[ -]Security[ -]Policy/i.test(m.text())) cspViolations.push({ url: page.url(), console: m.text() });
  });
  return page;
}

/** cspProbe breaks the policy on purpose (an inline script) and checks the violation is seen, so that "no
 * violations" at the end means the app really ran under its policy, not that nothing was listening. */
async function cspProbe(page) {
  const before = cspViolations.length;
  await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.ferryInlineRan = true';
    document.head.appendChild(s);
  });
  const deadline = Date.now() + 5000;
  while (cspViolations.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const ran = await page.evaluate(() => window.ferryInlineRan === true);
  check(!ran, 'an inline script ran: the web app is served without its Content-Security-Policy');
  check(cspViolations.length > before, 'a deliberate Content-Security-Policy violation went unnoticed');
  cspViolations.splice(before);
}

async function shot(page, name) {
  const { width } = page.viewportSize();
  await page.waitForLoadState('networkidle').catch(() => {});
  await page.waitForTimeout(350); // drawers and messages finish their animations
  await page.screenshot({ path: join(shots, `${String(++step).padStart(2, '0')}-${name}-${width}.png`) });
}

async function signIn(page, email, password) {
  await page.goto(base + '/');
  await page.locator('input[autocomplete=username]').fill(email);
  await page.locator('input[type=password]').fill(password);
  await page.locator('button[type=submit]').click();
  await page.locator('.ferry-header').waitFor();
}

/** visibleTexts lists the text a user reads on the page: text nodes, placeholders and titles of what is shown. */
async function visibleTexts(page) {
  return page.evaluate(() => {
    const out = new Set();
    const shown = (el) => el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = n.textContent.trim();
      const el = n.parentElement;
      if (!text || !shown(el) || el.closest('.cm-content, code, pre, .ferry-json, .react-flow__minimap, .ferry-mono')) continue;
      out.add(text);
    }
    for (const el of document.querySelectorAll('[placeholder]')) if (shown(el)) out.add(el.getAttribute('placeholder').trim());
    return [...out];
  });
}

// Text that is the same in every language: the product's name, data the test typed, identifiers, codes.
const LANGUAGE_NEUTRAL = [
  /^Ferry/, /Order paid/, /E2E-/, /@shop\.example/, /^[a-z][\w-]*(\.[\w-]+)+$/, /^[\w-]+$/, /^[A-Z0-9_]+$/, /^\//, /Fulfil paid orders/, /E2E Shopify/, /Poll shop orders/,
  /Paid orders to HubSpot/, /Sync contacts to HubSpot/, /Order lines one by one/, /Order lines total/, /Failed payments to Slack/,
  /^[\w.+-]+@[\w.-]+$/, // e-mail addresses: the review's decider and the contact's key
  /^[\w.*-]+(, [\w.*-]+)+$/, // the allowed internal hosts, as configured
  // Run data: the flow's own step names and the errors runs recorded (engine messages, kept as the engine wrote them).
  /^(Map fields|Condition|Respond to webhook|Webhook)$/, /^[a-z][\w-]*: /, /at line \d+, column \d+/,
  /^(English|Webhook|API|JSON|HTTP|URL|HMAC|OAuth2|Cron|POST|GET|PUT|DELETE|true|false|null)$/i,
  /^[\d\s.,:/%×+\-–()msh]+$/, /^https?:\/\//, /^\/hooks\//, /trigger\.body/, /^\{\{/, /^fry_/, /^\$/,
];
const englishLeft = (en, zh) => zh.filter((s) => en.includes(s) && /[A-Za-z]{3,}/.test(s) && !LANGUAGE_NEUTRAL.some((re) => re.test(s)));

try {
  await waitReady();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = await newPage({ width: 1280, height: 800 });

  // First run: create the admin; setup answers with a first API token, shown once.
  await page.goto(base + '/');
  await page.getByText('Ferry has no users yet').waitFor();
  await cspProbe(page);
  await shot(page, 'setup');
  await page.locator('input[autocomplete=username]').fill(ADMIN.email);
  await page.locator('input[type=password]').fill(ADMIN.password);
  await page.locator('button[type=submit]').click();
  await page.locator('.ant-modal').waitFor();
  token = (await page.locator('.ant-modal code').innerText()).trim();
  check(token.startsWith('fry_'), `setup showed "${token}" as the first token`);
  await shot(page, 'first-token');
  await page.locator('.ant-modal .ant-btn-primary').last().click();
  await page.locator('.ant-modal').waitFor({ state: 'hidden' });
  await page.getByRole('button', { name: 'New flow' }).waitFor();
  await shot(page, 'flows-empty');

  // Sign out and in again, through the sign-in form.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('input[autocomplete=username]').waitFor();
  await shot(page, 'sign-in');
  // What the sign-in page costs on a first visit: every script it loads, gzipped.
  {
    const fresh = await newPage({ width: 1280, height: 800 });
    const scripts = new Map();
    fresh.on('response', async (res) => {
      if (res.url().endsWith('.js')) scripts.set(res.url().split('/').pop(), gzipSync(await res.body()).length);
    });
    await fresh.goto(base + '/');
    await fresh.locator('input[autocomplete=username]').waitFor();
    await fresh.waitForLoadState('networkidle');
    const total = [...scripts.values()].reduce((a, b) => a + b, 0);
    console.log(`sign-in page: ${scripts.size} scripts, ${(total / 1024).toFixed(1)} KiB gzipped: ${[...scripts].map(([n, b]) => `${n} ${(b / 1024).toFixed(1)}`).join(', ')}`);
    await fresh.context().close();
  }
  await signIn(page, ADMIN.email, ADMIN.password);

  // A new flow starts with a webhook trigger.
  await page.goto(base + '/flows');
  await page.getByRole('button', { name: 'New flow' }).click();
  await page.locator('.ant-modal input').first().fill('Order paid');
  await page.locator('.ant-modal .ant-btn-primary').click();
  await page.waitForURL(/\/flows\/[^/]+$/);
  const flowID = page.url().split('/').pop();
  await page.locator('.react-flow__node').first().waitFor();

  // Drag Map, Condition and Respond from the palette, and connect webhook → map → condition (true) → respond.
  const pane = page.locator('.react-flow__pane');
  const search = page.getByPlaceholder('Search by name, type or description');
  const added = {};
  for (const [type, x, y] of [['core.map', 150, 560], ['core.condition', 450, 560], ['core.respond', 750, 560]]) {
    const before = await page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    await search.fill(type);
    await page.locator('.ferry-palette-item', { hasText: type }).first().dragTo(pane, { targetPosition: { x, y } });
    await page.waitForFunction((n) => document.querySelectorAll('.react-flow__node').length === n, before.length + 1);
    const after = await page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    added[type] = after.find((id) => !before.includes(id));
  }
  await search.fill('');
  const connect = async (from, port, to) => {
    const edges = await page.locator('.react-flow__edge').count();
    await page.locator(`.react-flow__handle.source[data-nodeid="${from}"][data-handleid="${port}"]`)
      .dragTo(page.locator(`.react-flow__handle.target[data-nodeid="${to}"]`).first());
    await page.waitForFunction((n) => document.querySelectorAll('.react-flow__edge').length === n, edges + 1);
  };
  const map = added['core.map'];
  const cond = added['core.condition'];
  const respond = added['core.respond'];
  await connect('webhook', 'main', map);
  await connect(map, 'main', cond);
  await connect(cond, 'true', respond);
  // Undo takes the last connection away, redo brings it back.
  await pane.click({ position: { x: 300, y: 200 } });
  await page.keyboard.press('Control+z');
  await page.waitForFunction(() => document.querySelectorAll('.react-flow__edge').length === 2);
  await page.keyboard.press('Control+Shift+z');
  await page.waitForFunction(() => document.querySelectorAll('.react-flow__edge').length === 3);
  // Tidy up the layout (Shift+L), left to right.
  await pane.click({ position: { x: 300, y: 200 } });
  await page.keyboard.press('Shift+L');
  await page.waitForTimeout(500);
  await shot(page, 'editor-connected');


  // The webhook's business key, typed into the expression editor of the form generated from the node's spec.
  const openNode = async (id) => {
    await page.locator(`.react-flow__node[data-id="${id}"]`).click();
    await page.locator('.ant-drawer').waitFor();
  };
  const closePanel = async () => {
    await page.locator('.ant-drawer-close').click();
    await page.locator('.ant-drawer').waitFor({ state: 'hidden' });
  };
  await openNode('webhook');
  await page.locator('.ant-form-item', { hasText: 'Business key' }).locator('.cm-content').first().fill('trigger.body.order_id');
  // The caller waits for the Respond node's answer.
  await page.locator('.ant-form-item', { hasText: 'Respond' }).locator('.ant-select').first().click();
  await page.locator('.ant-select-item-option', { hasText: 'From a Respond node' }).click();
  await closePanel();

  // The map node needs a row before the draft can be saved: one typed by hand.
  await openNode(map);
  await page.getByRole('button', { name: '+ Add row' }).first().click();
  await page.getByLabel('Target field 1').fill('customer');
  await page.locator('.cm-content[aria-label="Value 1"]').fill('trigger.body.customer.name');
  await closePanel();

  // The condition: only orders with a number go on to the answer.
  await openNode(cond);
  await page.locator('.ant-form-item', { hasText: 'Condition' }).locator('.cm-content').first().fill('prev.order_id != ""');
  await closePanel();

  await page.keyboard.press('Control+s'); // the keyboard shortcut saves, like the Save button
  await page.getByText('Draft saved.').waitFor();

  // Duplicating everything (Ctrl+A, Ctrl+D) is an unsaved change; undoing it brings back the saved state.
  await pane.click({ position: { x: 300, y: 200 } });
  await page.keyboard.press('Control+a');
  await page.keyboard.press('Control+d');
  await page.waitForFunction(() => document.querySelectorAll('.react-flow__node').length === 8);
  await page.getByText('unsaved changes').waitFor();
  await page.keyboard.press('Control+z');
  await page.waitForFunction(() => document.querySelectorAll('.react-flow__node').length === 4);
  await page.getByText('unsaved changes').waitFor({ state: 'hidden' });

  // A first test run gives the map node its input.
  const sample = { body: { order_id: 'E2E-1001', amount: '88.00', customer: { name: 'Ada', phone: '13800138000' } }, headers: {}, method: 'POST' };
  const testRun = async () => {
    await page.getByRole('button', { name: /Test run/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Test run' });
    await dialog.locator('textarea').first().fill(JSON.stringify(sample, null, 2));
    await dialog.locator('.ant-modal-footer .ant-btn-primary').click();
    await dialog.waitFor({ state: 'hidden' });
  };
  await testRun();
  await page.locator(`.react-flow__node[data-id="webhook"]`, { hasText: /succeeded/i }).waitFor();

  // Map a field by dragging it from the input pane into the mapping table.
  await openNode(map);
  await page.locator('.ferry-mapping-table').getByText('Ada').first().waitFor(); // the first row's preview on the sample
  await page.getByRole('button', { name: '+ Add row' }).first().click();
  await page.getByLabel('Target field 2').fill('order_id');
  await page.getByRole('button', { name: 'Expand trigger', exact: true }).click();
  await page.getByRole('button', { name: 'Expand trigger.body', exact: true }).click();
  const field = page.locator('.ferry-field-row', { hasText: 'order_id' }).first();
  const valueCell = page.locator('.cm-content[aria-label="Value 2"]');
  await field.dragTo(valueCell);
  await page.waitForFunction(() => document.querySelector('.cm-content[aria-label="Value 2"]')?.textContent === 'trigger.body.order_id');
  await page.locator('.ferry-mapping-table').getByText('E2E-1001').first().waitFor(); // the preview on the sample
  // A second row typed by hand, with a function from the completion list.
  await page.getByRole('button', { name: '+ Add row' }).first().click();
  await page.getByLabel('Target field 3').fill('amount_fen');
  await page.locator('.cm-content[aria-label="Value 3"]').fill('toMinor(trigger.body.amount, "CNY")');
  await page.locator('.ferry-mapping-table').getByText('8800').first().waitFor();
  await shot(page, 'node-panel-mapping');
  await closePanel();

  // Test again: every node shows its status; the answer carries the mapped record.
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Draft saved.').first().waitFor();
  await testRun();
  await page.locator(`.react-flow__node[data-id="${respond}"]`, { hasText: /succeeded|dry run/i }).waitFor();
  await shot(page, 'test-run');
  await openNode(respond);
  await page.locator('.ant-drawer').getByText('amount_fen').first().waitFor();
  await shot(page, 'node-panel-output');
  await closePanel();

  // The test webhook of the draft (never published): without its secret it answers like an unknown flow; the
  // editor shows the address with the secret, which a provider's sandbox can call without signing in.
  const noSecret = await fetch(`${base}/hooks/${flowID}/test`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  check(noSecret.status === 404, `the test webhook without a secret answered ${noSecret.status}`);
  await page.getByRole('button', { name: 'Show the test URL' }).click();
  const testUrl = (await page.locator('.ferry-test-hook-url').innerText()).trim();
  check(testUrl.startsWith(`${base}/hooks/${flowID}/test/`), `the editor shows the test URL "${testUrl}"`);
  await shot(page, 'test-url');
  const tested = await fetch(testUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(sample.body) });
  const testedRun = await tested.json().catch(() => ({}));
  check(tested.status === 200 && testedRun.mode === 'test' && testedRun.status === 'succeeded',
    `the test URL answered ${tested.status} ${JSON.stringify(testedRun).slice(0, 200)}`);

  // Publish with a message; the versions drawer lists it with who and when.
  await page.getByRole('button', { name: 'Publish' }).click();
  const publishDialog = page.getByRole('dialog', { name: 'Publish the draft' });
  await publishDialog.locator('input, textarea').first().fill('first version');
  await publishDialog.locator('.ant-btn-primary').click();
  await page.getByText(/Published as version 1/).waitFor();
  await page.getByRole('button', { name: 'Versions' }).click();
  await page.locator('.ant-drawer').getByRole('cell', { name: 'first version' }).waitFor();
  await page.locator('.ant-drawer').getByText(ADMIN.email).first().waitFor();
  await shot(page, 'versions');
  await page.keyboard.press('Escape');

  // Real webhooks: one good order, and one whose amount cannot be converted (a dead letter).
  const hook = (body) => fetch(`${base}/hooks/${flowID}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const good = await hook({ order_id: 'E2E-2002', amount: '120.00', customer: { name: 'Grace' } });
  check(good.status === 200, `webhook answered ${good.status}`);
  const answer = await good.json().catch(() => ({}));
  check(answer.amount_fen === 12000 && answer.order_id === 'E2E-2002', `webhook answered ${JSON.stringify(answer)}`);
  await hook({ order_id: 'E2E-3003', amount: 'twelve', customer: { name: 'Alan' } });

  // Find the run by its business key.
  await page.goto(`${base}/runs?businessKey=E2E-2002`);
  await page.locator('.ant-table-row').first().waitFor();
  await shot(page, 'runs-by-business-key');
  await page.locator('.ant-table-row a').first().click();
  await page.getByText('Trigger payload').waitFor();
  // The run's page draws the graph it ran, each node with its step's status.
  await page.locator('.ferry-run-graph .react-flow__node', { hasText: /succeeded/ }).first().waitFor();
  await shot(page, 'run');

  // The failed run is a dead letter; retry it in bulk.
  await page.goto(base + '/dead-letters');
  await page.locator('.ant-table-row', { hasText: 'E2E-3003' }).waitFor();
  await page.locator('.ant-table-row', { hasText: 'E2E-3003' }).locator('input[type=checkbox]').check();
  await shot(page, 'dead-letters');
  await page.getByRole('button', { name: /Retry selected/ }).click();
  await page.locator('.ant-modal-confirm .ant-btn-primary, .ant-popconfirm .ant-btn-primary, .ant-modal .ant-btn-primary').last().click();
  await page.getByText(/retried|Retried/).first().waitFor();

  // An admin stores a credential in the dialog: a generic one is refused until it names where it may be sent,
  // and the list then shows where it goes.
  await page.goto(base + '/admin/credentials');
  await page.getByRole('button', { name: 'New credential' }).click();
  const credDialog = page.getByRole('dialog', { name: 'New credential' });
  await credDialog.locator('input').first().fill('CRM API');
  await credDialog.locator('.ant-select').first().click();
  // The list of types is longer than the dropdown shows: type to filter it, as a person would.
  await page.keyboard.type('http.bearer');
  await page.locator('.ant-select-item-option', { hasText: 'http.bearer' }).click();
  await credDialog.locator('input[type=password]').first().fill('crm-token-e2e');
  await credDialog.getByRole('button', { name: 'Create' }).click();
  await credDialog.getByText('List at least one destination').waitFor();
  await credDialog.locator('.ant-form-item', { hasText: 'Allowed destinations' }).locator('input').fill('https://crm.example.com/api');
  await page.keyboard.press('Enter');
  await credDialog.getByRole('button', { name: 'Create' }).click();
  await page.locator('.ant-table-row', { hasText: 'CRM API' }).getByText('https://crm.example.com/api').waitFor();
  const stored = (await api('GET', '/api/v1/credentials')).credentials.find((c) => c.name === 'CRM API');
  if (JSON.stringify(stored?.allowedDestinations) !== '["https://crm.example.com/api"]') {
    throw new Error(`the credential's destinations: ${JSON.stringify(stored)}`);
  }

  // A shop flow with a dropdown listed from the account: the Shopify credential (stored through the API, the
  // dialog was tested above) opens the stand-in store, whose locations become the fulfilment's choices.
  const shopCred = (await api('POST', '/api/v1/credentials', { name: 'E2E Shopify', type: 'shopify.store',
    live: { shop: SHOP, accessToken: SHOP_TOKEN } })).id;
  await page.goto(base + '/flows');
  await page.getByRole('button', { name: 'New flow' }).click();
  await page.locator('.ant-modal input').first().fill('Fulfil paid orders');
  await page.locator('.ant-modal .ant-btn-primary').click();
  await page.waitForURL(/\/flows\/[^/]+$/);
  const shopFlowID = page.url().split('/').pop();
  await page.locator('.react-flow__node').first().waitFor();
  await search.fill('shopify.fulfillment.create');
  await page.locator('.ferry-palette-item', { hasText: 'shopify.fulfillment.create' }).first().dragTo(page.locator('.react-flow__pane'), { targetPosition: { x: 450, y: 560 } });
  await page.waitForFunction(() => document.querySelectorAll('.react-flow__node').length === 2);
  await search.fill('');
  const fulfil = await page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')).find((id) => id !== 'webhook'));
  await connect('webhook', 'main', fulfil);
  await openNode(fulfil);
  const locationSelect = page.locator('.ant-select[aria-label="Location"]');
  // Before a credential is chosen there is nothing to list with.
  await page.locator('.ant-drawer').getByText('Choose a credential to load the choices from the account').first().waitFor();
  await page.locator('.ant-form-item', { hasText: 'Credential' }).locator('.ant-select').first().click();
  await page.locator('.ant-select-item-option', { hasText: 'E2E Shopify' }).click();
  await page.locator('.cm-content[aria-label="Order"]').fill('{{ trigger.body.orderId }}');
  await locationSelect.click();
  await page.locator('.ant-select-item-option', { hasText: 'Warehouse Berlin' }).waitFor();
  await shot(page, 'loaded-dropdown');
  await page.locator('.ant-select-item-option', { hasText: 'Warehouse Berlin' }).click();
  await locationSelect.locator('.ant-select-selection-item', { hasText: 'Warehouse Berlin' }).waitFor();
  check(shopCalls.some((c) => c.op === 'FerryLocations' && c.token === SHOP_TOKEN), `the stand-in store was asked ${JSON.stringify(shopCalls)}`);
  // The same field takes an expression: fx shows the picked value in the expression editor, and back.
  await page.getByRole('button', { name: 'Type an expression instead' }).click();
  await page.waitForFunction(() => document.querySelector('.cm-content[aria-label="Location"]')?.textContent === 'gid://shopify/Location/71');
  await page.getByRole('button', { name: 'Pick from the account\'s list instead' }).click();
  await locationSelect.locator('.ant-select-selection-item', { hasText: 'Warehouse Berlin' }).waitFor();
  await shot(page, 'node-panel-shop');
  await closePanel();
  await page.keyboard.press('Control+s');
  await page.getByText('Draft saved.').first().waitFor();
  {
    const saved = await api('GET', `/api/v1/flows/${shopFlowID}`);
    const node = saved.flow.nodes.find((n) => n.type === 'shopify.fulfillment.create');
    check(node?.params?.location === 'gid://shopify/Location/71' && node?.credential === shopCred && node?.params?.order === '{{ trigger.body.orderId }}',
      `the saved shop flow holds ${JSON.stringify(node)}`);
  }

  // A payment → CRM flow: a Stripe payment starts it, and a HubSpot deal upsert takes its pipeline and stage from
  // the stand-in account. The stage's choices depend on the pipeline: asked for first, listed for the pipeline
  // picked, listed again when it changes (the stage picked before is cleared), and both are saved.
  const stripeCred = (await api('POST', '/api/v1/credentials', { name: 'E2E Stripe', type: 'stripe.account',
    live: { secretKey: 'sk_test_e2e', webhookSecret: 'whsec_e2e' } })).id;
  const hubCred = (await api('POST', '/api/v1/credentials', { name: 'E2E HubSpot', type: 'hubspot.private-app', live: { accessToken: HUB_TOKEN } })).id;
  await page.goto(base + '/flows');
  await page.getByRole('button', { name: 'New flow' }).click();
  await page.locator('.ant-modal input').first().fill('Paid orders to HubSpot');
  await page.locator('.ant-modal .ant-btn-primary').click();
  await page.waitForURL(/\/flows\/[^/]+$/);
  const crmFlowID = page.url().split('/').pop();
  await page.locator('.react-flow__node').first().waitFor();
  // The new flow's webhook trigger gives way to Stripe's.
  await openNode('webhook');
  await closePanel();
  await page.keyboard.press('Delete');
  await page.waitForFunction(() => document.querySelectorAll('.react-flow__node').length === 0);
  const dropNode = async (type, x, y) => {
    const before = await page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    await search.fill(type);
    await page.locator('.ferry-palette-item', { hasText: type }).first().dragTo(pane, { targetPosition: { x, y } });
    await page.waitForFunction((n) => document.querySelectorAll('.react-flow__node').length === n, before.length + 1);
    const after = await page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    return after.find((id) => !before.includes(id));
  };
  const payment = await dropNode('stripe.trigger', 150, 300);
  const deal = await dropNode('hubspot.deal.upsert', 550, 300);
  await search.fill('');
  await connect(payment, 'main', deal);
  const pickCredential = async (name) => {
    await page.locator('.ant-drawer .ant-form-item', { hasText: 'Credential' }).locator('.ant-select').first().click();
    await page.locator('.ant-select-item-option', { hasText: name }).click();
  };
  await openNode(payment);
  await pickCredential('E2E Stripe');
  await closePanel();
  await openNode(deal);
  await pickCredential('E2E HubSpot');
  await page.locator('.cm-content[aria-label="Unique property"]').fill('order_id');
  await page.locator('.cm-content[aria-label="Unique value"]').fill('{{ trigger.body.orderId }}');
  const drawer = page.locator('.ant-drawer');
  const pipelineSelect = drawer.locator('.ant-select[aria-label="Pipeline"]');
  const stageSelect = drawer.locator('.ant-select[aria-label="Stage"]');
  // Without a pipeline the stages cannot be listed: the form says to choose one first.
  await drawer.getByText('Choose Pipeline first to load these choices').first().waitFor();
  const pick = async (select, label) => {
    await select.click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option', { hasText: label }).click();
    await select.locator('.ant-select-selection-item', { hasText: label }).waitFor();
  };
  // The stage's list holds exactly the stages of the pipeline picked.
  const stageChoices = async (want) => {
    await stageSelect.click();
    await page.waitForFunction((labels) => {
      const shown = [...document.querySelectorAll('.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option')].map((e) => e.textContent);
      return JSON.stringify(shown) === JSON.stringify(labels);
    }, want);
  };
  await pick(pipelineSelect, 'Sales Pipeline');
  await stageChoices(['Appointment scheduled', 'Closed won']);
  await page.locator('.ant-select-dropdown:visible .ant-select-item-option', { hasText: 'Closed won' }).click();
  await stageSelect.locator('.ant-select-selection-item', { hasText: 'Closed won' }).waitFor();
  await shot(page, 'dependent-dropdown');
  // Another pipeline: its stages are listed, and the stage of the other pipeline is cleared.
  await pick(pipelineSelect, 'Renewals');
  await stageSelect.locator('.ant-select-selection-item').waitFor({ state: 'detached' });
  await stageChoices(['Renewal due', 'Renewed']);
  await page.locator('.ant-select-dropdown:visible .ant-select-item-option', { hasText: 'Renewal due' }).click();
  await stageSelect.locator('.ant-select-selection-item', { hasText: 'Renewal due' }).waitFor();
  check(hubCalls.includes('GET /crm/v3/pipelines/deals/default/stages') && hubCalls.includes('GET /crm/v3/pipelines/deals/771/stages'),
    `the HubSpot stand-in was asked ${JSON.stringify(hubCalls)}`);
  await shot(page, 'node-panel-hubspot');
  await closePanel();
  await page.keyboard.press('Control+s');
  await page.getByText('Draft saved.').first().waitFor();
  {
    const saved = await api('GET', `/api/v1/flows/${crmFlowID}`);
    const node = saved.flow.nodes.find((n) => n.type === 'hubspot.deal.upsert');
    const trigger = saved.flow.nodes.find((n) => n.type === 'stripe.trigger');
    const edge = saved.flow.edges.find((e) => e.source === trigger?.id && e.target === node?.id);
    check(node?.params?.pipeline === '771' && node?.params?.stage === '1022' && node?.credential === hubCred && trigger?.credential === stripeCred && edge,
      `the saved payment → CRM flow holds ${JSON.stringify(saved.flow)}`);
  }

  // A polling trigger (set up and published through the API): its panel shows where the poller stopped, what it
  // found and its error, and an editor backfills it from a date and resets it from the panel.
  const pollFlow = await api('POST', '/api/v1/flows', { schema: 1, name: 'Poll shop orders', nodes: [
    { id: 'orders', type: 'shopify.orders.poll', version: 1, credential: shopCred, params: { interval: '10s' }, position: { x: 100, y: 100 } },
  ], edges: [] });
  await api('POST', `/api/v1/flows/${pollFlow.id}/publish`, { message: 'poll' });
  const pollState = async (ok, what) => {
    for (let i = 0; i < 150; i++) {
      const poll = (await api('GET', `/api/v1/flows/${pollFlow.id}/polling`)).polls.find((p) => p.nodeId === 'orders');
      if (poll && ok(poll)) return poll;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the polling trigger never ${what}`);
  };
  await pollState((p) => p.lastPollAt, 'polled');
  await page.goto(`${base}/flows/${pollFlow.id}`);
  await openNode('orders');
  const pollPanel = page.locator('.ferry-polling');
  await pollPanel.getByText('Found in the last poll').waitFor();
  await pollPanel.getByLabel('Backfill from').fill('2026-11-01T00:00');
  await pollPanel.getByRole('button', { name: 'Backfill' }).click();
  await page.getByText(/The trigger polls every change since/).waitFor();
  await pollState((p) => p.totalCount === 3, 'found the three orders changed since the backfill date');
  await closePanel();
  await openNode('orders');
  await pollPanel.locator('.ant-descriptions-row', { hasText: 'Found in all' }).getByText('3', { exact: true }).waitFor({ timeout: 20000 });
  await pollPanel.locator('.ant-descriptions-row', { hasText: 'Stopped at' }).getByText('last record 5003').waitFor();
  // The store starts refusing; a reset polls again at once and the panel shows the store's error and its code.
  shopDenies = true;
  await pollPanel.getByRole('button', { name: 'Reset' }).click();
  await page.locator('.ant-popconfirm').getByRole('button', { name: 'Reset' }).click();
  await page.getByText('The trigger polls from now on.').waitFor();
  await pollState((p) => p.failures > 0, 'failed');
  await closePanel();
  await openNode('orders');
  await pollPanel.getByText('shopify_access_denied').waitFor({ timeout: 20000 });
  await pollPanel.getByText(/Required access: `read_orders`/).waitFor();
  await pollPanel.scrollIntoViewIfNeeded();
  await shot(page, 'polling-panel');
  await closePanel();
  shopDenies = false;

  // A CRM review, for real: a flow upserts a HubSpot contact under the conflict policy "review"; the stand-in's
  // contact differs from what the webhook sends, so the run parks (waiting) with an open review. The run's page
  // links to it, the menu counts it, and an operator picks a side per field in the drawer; a second page that
  // had the same review open is then told it is closed. The run goes on and the stand-in gets the chosen values.
  // The flow writes with the HubSpot credential of the deal flow above.
  const reviewFlow = await api('POST', '/api/v1/flows', { schema: 1, name: 'Sync contacts to HubSpot', nodes: [
    { id: 'webhook', type: 'core.webhook', version: 1, name: 'Contact changed', params: { method: 'POST', businessKey: 'trigger.body.email' },
      position: { x: 0, y: 100 } },
    { id: 'upsert', type: 'hubspot.contact.upsert', version: 1, name: 'Upsert contact', credential: hubCred, position: { x: 300, y: 100 },
      params: { idProperty: 'email', value: '{{ trigger.body.email }}', conflictPolicy: 'review',
        properties: '{{ {"email": trigger.body.email, "firstname": trigger.body.firstname, "phone": trigger.body.phone, "city": trigger.body.city} }}' } },
  ], edges: [{ source: 'webhook', sourcePort: 'main', target: 'upsert', targetPort: 'main' }] });
  await api('POST', `/api/v1/flows/${reviewFlow.id}/publish`, { message: 'review conflicts' });
  const contactHook = await fetch(`${base}/hooks/${reviewFlow.id}`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'wang.fang@example.com', firstname: 'Fang', phone: '+8613800138000', city: 'Shanghai' }) });
  check(contactHook.ok, `the contact webhook answered ${contactHook.status}`);
  const runOf = async (ok, what) => {
    for (let i = 0; i < 150; i++) {
      const r = (await api('GET', `/api/v1/runs?flow=${reviewFlow.id}`)).runs[0];
      if (r && ok(r)) return r;
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error(`the contact run never ${what}: ${JSON.stringify((await api('GET', `/api/v1/runs?flow=${reviewFlow.id}`)).runs[0])}`);
  };
  const parked = await runOf((r) => r.status === 'waiting', 'parked for its review');
  check(hubspotUpserts.length === 0, `the stand-in got an upsert before the review was decided: ${JSON.stringify(hubspotUpserts)}`);
  await page.goto(`${base}/runs/${parked.id}`);
  await page.getByText(/Waiting for review/).waitFor();
  await page.locator('.ferry-header').getByText('Reviews').waitFor();
  await page.locator('.ferry-header .ferry-nav-badge', { hasText: '1' }).waitFor();
  await shot(page, 'run-waiting-for-review');
  // A second operator's page opens the same review and waits there.
  const late = await newPage({ width: 1280, height: 800 });
  await signIn(late, ADMIN.email, ADMIN.password);
  await page.getByRole('button', { name: 'Open the review' }).click();
  await page.waitForURL(/\/reviews\/[^/?]+/);
  const reviewPath = new URL(page.url()).pathname;
  await late.goto(base + reviewPath);
  await late.locator('.ant-drawer').getByRole('button', { name: 'All as in the CRM' }).waitFor();
  // Phones are personal data: masked until an operator who may see them asks (and the reveal is audited).
  await drawer.getByRole('button', { name: 'All from the flow' }).waitFor();
  check(await drawer.getByText('+8613900139000').count() === 0, 'the review showed a phone unmasked before it was asked to');
  await drawer.getByText('Show personal data unmasked').click();
  await drawer.getByText('+8613900139000').waitFor();
  const submit = drawer.getByRole('button', { name: 'Submit decision' });
  check(await submit.isDisabled(), 'Submit was enabled before every field was chosen');
  // Everything from the flow, then the city back to what the CRM holds.
  await drawer.getByRole('button', { name: 'All from the flow' }).click();
  await drawer.locator('[aria-label="Value to keep for city"]').getByText('Target').click();
  await shot(page, 'review-choices');
  await submit.click();
  await drawer.getByText(`Decided by ${ADMIN.email}`).waitFor();
  await shot(page, 'review-decided');
  // The late page still shows the form; its decision is refused as closed, and it shows the decided review.
  const lateDrawer = late.locator('.ant-drawer');
  await lateDrawer.getByRole('button', { name: 'All as in the CRM' }).click();
  await lateDrawer.getByRole('button', { name: 'Submit decision' }).click();
  await lateDrawer.getByText('This review is closed.').waitFor();
  await lateDrawer.getByText(`Decided by ${ADMIN.email}`).waitFor();
  await shot(late, 'review-closed');
  await late.context().close();
  await runOf((r) => r.status === 'succeeded', 'succeeded after the decision');
  const sent = hubspotUpserts.at(-1)?.[0]?.properties ?? {};
  check(hubspotUpserts.length === 1 && sent.phone === '+8613800138000' && (sent.city === undefined || sent.city === 'Suzhou') && sent.email === 'wang.fang@example.com',
    `the stand-in got the upserts ${JSON.stringify(hubspotUpserts)}, want the flow's phone and the CRM's city`);
  check(hubspotContacts.get('501').properties.city === 'Suzhou' && hubspotContacts.get('501').properties.phone === '+8613800138000',
    `the contact ended as ${JSON.stringify(hubspotContacts.get('501'))}`);
  await page.goto(`${base}/reviews?status=decided`);
  await page.locator('.ant-table-row', { hasText: 'Sync contacts to HubSpot' }).waitFor();

  // An approval: a live run parks on core.approval, the menu counts it, and it is approved with a comment from the
  // Reviews & approvals screen; the run then follows approved.
  {
    const approvalFlow = await api('POST', '/api/v1/flows', { schema: 1, name: 'E2E-approve refunds', nodes: [
      { id: 'manual', type: 'core.manual', version: 1, name: 'Refund request', position: { x: 0, y: 100 } },
      { id: 'approve', type: 'core.approval', version: 1, name: 'Finance approves', position: { x: 300, y: 100 },
        params: { title: 'E2E-refund {{ trigger.amount }} for order {{ trigger.order }}', details: 'Order **{{ trigger.order }}**\n\n- reason: {{ trigger.reason }}', role: 'operator', timeout: '1h' } },
      { id: 'done', type: 'core.set-vars', version: 1, name: 'Note it', position: { x: 600, y: 100 },
        params: { vars: [{ name: 'refunded', expression: 'trigger.order' }] } },
    ], edges: [{ source: 'manual', sourcePort: 'main', target: 'approve', targetPort: 'main' },
      { source: 'approve', sourcePort: 'approved', target: 'done', targetPort: 'main' }] });
    await api('POST', `/api/v1/flows/${approvalFlow.id}/publish`, { message: 'approve refunds' });
    const started = await api('POST', `/api/v1/flows/${approvalFlow.id}/run`, { payload: { amount: '900.00', order: 'A-1001', reason: 'damaged' } });
    const runState = async (ok, what) => {
      for (let i = 0; i < 150; i++) {
        const r = await api('GET', `/api/v1/runs/${started.id}`);
        if (ok(r)) return r;
        await new Promise((res) => setTimeout(res, 200));
      }
      throw new Error(`the approval run never ${what}: ${JSON.stringify(await api('GET', `/api/v1/runs/${started.id}`))}`);
    };
    await runState((r) => r.status === 'waiting', 'parked for its approval');
    // The link a notification carries opens the run's approval; closed, it stays closed.
    await page.goto(`${base}/reviews?run=${started.id}`);
    await page.waitForURL(/\/reviews\/[^/?]+\?run=/);
    await page.locator('.ant-drawer .ferry-markdown').waitFor();
    await page.locator('.ant-drawer .ant-drawer-close').click();
    await page.waitForURL(/\/reviews\?run=/);
    await page.locator('.ant-drawer-open').waitFor({ state: 'detached' });
    check(/\/reviews\?run=/.test(new URL(page.url()).pathname + new URL(page.url()).search), `closing the linked approval went to ${page.url()}`);
    await page.goto(`${base}/reviews?kind=approval`);
    await page.locator('.ferry-header').getByText('Reviews & approvals').waitFor();
    await page.locator('.ferry-header .ferry-nav-badge', { hasText: '1' }).waitFor();
    await page.locator('.ant-table-row').getByRole('link', { name: 'E2E-refund 900.00 for order A-1001' }).click();
    await page.waitForURL(/\/reviews\/[^/?]+/);
    const approvalDrawer = page.locator('.ant-drawer');
    await approvalDrawer.locator('.ferry-markdown b', { hasText: 'A-1001' }).waitFor();
    await approvalDrawer.getByText('role operator, and admins').waitFor();
    check(await approvalDrawer.getByRole('button', { name: 'Reject' }).isDisabled(), 'Reject was enabled without the comment a rejection needs');
    await approvalDrawer.getByLabel('Comment').fill('within policy');
    await shot(page, 'approval-open');
    await approvalDrawer.getByRole('button', { name: 'Approve' }).click();
    await approvalDrawer.getByText(`Decided by ${ADMIN.email}`).waitFor();
    await approvalDrawer.getByText('within policy').waitFor();
    await shot(page, 'approval-decided');
    const finished = await runState((r) => r.status === 'succeeded' || r.status === 'failed', 'finished after the approval');
    const approved = (finished.steps ?? []).find((s) => s.nodeId === 'approve' && s.status === 'succeeded');
    const ap = approved?.output?.approval ?? {};
    check(finished.status === 'succeeded' && approved?.port === 'approved' && ap.decision === 'approved' && ap.comment === 'within policy' &&
      ap.by === ADMIN.email && typeof ap.at === 'string' && ap.at !== '' && (finished.steps ?? []).some((s) => s.nodeId === 'done'),
      `the approval run ended as ${JSON.stringify(finished)}`);
  }

  // A Slack message built with expressions: after a test run, the node panel previews the text and the blocks on
  // the sample; plain JSON blocks can become an expression and back without losing what was written.
  const slackCred = (await api('POST', '/api/v1/credentials', { name: 'E2E Slack', type: 'slack.webhook',
    live: { webhookUrl: 'https://hooks.slack.com/services/T0E2E0001/B0E2E0001/e2eSecretE2eSecretE2eSe' },
    test: { webhookUrl: 'https://hooks.slack.com/services/T0E2E0001/B0E2E0002/e2eTestE2eTestE2eTestE2' } })).id;
  const slackFlow = await api('POST', '/api/v1/flows', { schema: 1, name: 'Failed payments to Slack', nodes: [
    { id: 'in', type: 'core.manual', position: { x: 0, y: 0 } },
    { id: 'slack', type: 'slack.webhook.send', credential: slackCred, position: { x: 280, y: 0 }, params: {
      text: 'Payment failed: {{ trigger.order }}',
      blocks: '{{ [{"type": "section", "text": {"type": "mrkdwn", "text": "*Order* " + trigger.order} } ] }}' } }],
    edges: [{ source: 'in', target: 'slack' }] });
  await page.goto(`${base}/flows/${slackFlow.id}`);
  await page.locator('.react-flow__node[data-id="slack"]').waitFor();
  await page.getByRole('button', { name: /Test run/ }).click();
  const slackDialog = page.getByRole('dialog', { name: 'Test run' });
  await slackDialog.locator('textarea').first().fill(JSON.stringify({ order: 'E2E-2002' }));
  await slackDialog.locator('.ant-modal-footer .ant-btn-primary').click();
  await slackDialog.waitFor({ state: 'hidden' });
  await page.locator('.react-flow__node[data-id="slack"]', { hasText: /dry run/i }).waitFor();
  await openNode('slack');
  const item = (label) => page.locator('.ant-form-item').filter({ has: page.locator('label', { hasText: new RegExp(`^${label}$`) }) }).first();
  const textItem = item('Text');
  await textItem.locator('.ferry-expr-value', { hasText: 'Payment failed: E2E-2002' }).waitFor();
  const blocksItem = item('Blocks');
  await blocksItem.locator('.ferry-expr-value', { hasText: '*Order* E2E-2002' }).waitFor();
  await shot(page, 'node-panel-message-preview');
  // Blocks that refer to the run cannot turn into plain JSON; a divider typed as JSON can become an expression.
  check(await blocksItem.getByRole('button', { name: 'Write plain JSON' }).isDisabled(), 'blocks with an expression offered to become plain JSON');
  await blocksItem.locator('.cm-content').first().fill('{{ [{"type": "divider"} ] }}');
  await blocksItem.getByRole('button', { name: 'Write plain JSON' }).click();
  await blocksItem.locator('textarea').waitFor();
  check((await blocksItem.locator('textarea').inputValue()).includes('"divider"'), 'the divider was lost switching to plain JSON');
  await blocksItem.getByRole('button', { name: 'Build it with an expression' }).click();
  await blocksItem.locator('.ferry-expr-value', { hasText: 'divider' }).waitFor();
  await closePanel();

  // The code node is edited in a code editor; a syntax error is marked at its line and column.
  const codeFlow = await api('POST', '/api/v1/flows', { schema: 1, name: 'Order lines total', nodes: [
    { id: 'in', type: 'core.manual', position: { x: 0, y: 0 } },
    { id: 'total', type: 'core.code', position: { x: 280, y: 0 }, params: { code: 'let cents = 0;\nfor (const l of $input.lines) cents += l.qty * l.price;\nreturn { cents };' } }],
    edges: [{ source: 'in', target: 'total' }] });
  await page.goto(`${base}/flows/${codeFlow.id}`);
  await page.locator('.react-flow__node[data-id="total"]').click();
  await page.locator('.ant-drawer').waitFor();
  const codeEditor = page.locator('.ferry-code-input .cm-content');
  await codeEditor.waitFor();
  check((await codeEditor.innerText()).includes('cents += l.qty'), 'the code editor does not show the script');
  await codeEditor.click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type('\nreturn cents +;');
  await closePanel();
  // Saving refuses the script and says where it is wrong; the code editor marks the place.
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('.react-flow__node[data-id="total"]').click();
  await page.locator('.ant-drawer').waitFor();
  await page.locator('.ferry-code-input .cm-lint-marker-error').first().waitFor();
  await page.locator('.ant-drawer').getByText(/line 4/).first().waitFor();
  await shot(page, 'node-panel-code-error');
  await closePanel();

  // One run per item: a live run splits an order's three lines into child runs; the parent goes on once all of
  // them ended, and its page lists the children, each linking to its own run.
  const splitFlow = await api('POST', '/api/v1/flows', { schema: 1, name: 'Order lines one by one', nodes: [
    { id: 'in', type: 'core.manual', position: { x: 0, y: 0 } },
    { id: 'lines', type: 'core.split', position: { x: 260, y: 0 }, params: { items: 'trigger.lines', key: 'prev.sku', parallel: 2 } },
    { id: 'check', type: 'core.condition', position: { x: 520, y: -80 }, params: { condition: 'prev.qty > 0' } },
    { id: 'total', type: 'core.set-vars', position: { x: 520, y: 80 }, params: { vars: [{ name: 'lines', expression: 'prev.total' }] } }],
    edges: [{ source: 'in', target: 'lines' }, { source: 'lines', sourcePort: 'each', target: 'check' }, { source: 'lines', sourcePort: 'done', target: 'total' }] });
  await api('POST', `/api/v1/flows/${splitFlow.id}/publish`, { message: 'split' });
  const started = await api('POST', `/api/v1/flows/${splitFlow.id}/run`, { payload: { order: 'E2E-3003',
    lines: [{ sku: 'E2E-A', qty: 1 }, { sku: 'E2E-B', qty: 2 }, { sku: 'E2E-C', qty: 3 }] } });
  const parentId = started.id ?? started.run?.id;
  for (let i = 0; ; i++) {
    const r = await api('GET', `/api/v1/runs/${parentId}`);
    if (r.status === 'succeeded') break;
    if (i > 150 || ['failed', 'cancelled'].includes(r.status)) throw new Error(`the split's parent run ended ${r.status}: ${JSON.stringify(r.error)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
  await page.goto(`${base}/runs/${parentId}`);
  const childCard = page.locator('.ferry-child-runs');
  await childCard.getByText('3 child runs').waitFor();
  await childCard.locator('.ant-table-row').nth(2).waitFor();
  check(await childCard.locator('.ant-table-row', { hasText: 'succeeded' }).count() === 3, 'the parent does not list three succeeded children');
  // The run's graph shows on the split how its children ended.
  await page.locator('.ferry-node-children', { hasText: '3/3 succeeded, 0 failed' }).waitFor();
  await shot(page, 'run-split-children');
  await childCard.locator('.ant-table-row').first().getByRole('link').click();
  await page.getByText('Child of').waitFor();

  // Every other screen, at 1280×800 and at 1920×1080.
  const screens = [
    ['dashboard', '/dashboard', '.ferry-page'],
    ['flows', '/flows', '.ant-table-row'],
    ['templates', '/templates', '.ant-card'],
    ['runs', '/runs', '.ant-table-row'],
    ['reviews', '/reviews?status=all', '.ant-table-row'],
    ['admin-credentials', '/admin/credentials', '.ferry-page'],
    ['admin-users', '/admin/users', '.ant-table-row'],
    ['admin-tokens', '/admin/tokens', '.ant-table-row'],
    ['admin-audit', '/admin/audit', '.ant-table-row'],
    ['admin-rejections', '/admin/rejections', '.ferry-page'],
    ['admin-settings', '/admin/settings', '.ferry-page'],
  ];
  const big = await newPage({ width: 1920, height: 1080 });
  await signIn(big, ADMIN.email, ADMIN.password);
  for (const p of [page, big]) {
    for (const [name, path, ready] of screens) {
      await p.goto(base + path);
      await p.locator(ready).first().waitFor();
      await shot(p, name);
    }
    await p.goto(`${base}/flows/${flowID}`);
    await p.locator('.react-flow__node').first().waitFor();
    await shot(p, 'editor');
  }

  // Use a template: the gallery asks for the credentials it needs, then opens the new flow.
  await page.goto(base + '/templates');
  await page.locator('.ant-card', { hasText: 'WeChat' }).first().getByRole('button', { name: 'Use template' }).click();
  await page.locator('.ant-modal').waitFor();
  await shot(page, 'template-use');
  await page.keyboard.press('Escape');

  // What each role sees of the admin screens: the menu offers only what the role may use, and a page it may not
  // use says so instead of showing nothing.
  const expected = {
    editor: { menu: ['Credentials', 'API tokens'], refused: '/admin/users', createsFlows: true },
    operator: { menu: ['API tokens'], refused: '/admin/credentials', createsFlows: false },
    viewer: { menu: ['API tokens'], refused: '/admin/settings', createsFlows: false },
  };
  for (const [role, want] of Object.entries(expected)) {
    const email = `${role}@shop.example`;
    await api('POST', '/api/v1/users', { email, name: role, password: 'another long password', role });
    const p = await newPage({ width: 1280, height: 800 });
    await signIn(p, email, 'another long password');
    // The flows list offers creating flows only to roles that may.
    await p.goto(base + '/flows');
    await p.locator('.ant-table-row').first().waitFor();
    const creates = await p.getByRole('button', { name: 'New flow' }).count();
    check((creates > 0) === want.createsFlows, `${role} ${creates ? 'is' : 'is not'} offered "New flow"`);
    await p.locator('.ferry-header .ant-menu-submenu', { hasText: 'Admin' }).hover();
    await p.locator('.ant-menu-submenu-popup .ant-menu-item').first().waitFor();
    const menu = await p.locator('.ant-menu-submenu-popup .ant-menu-item').allInnerTexts();
    check(JSON.stringify(menu.map((s) => s.trim())) === JSON.stringify(want.menu), `${role} sees admin menu ${JSON.stringify(menu)}, want ${JSON.stringify(want.menu)}`);
    await shot(p, `role-${role}-menu`);
    await p.goto(base + want.refused);
    await p.locator('.ant-alert-error').first().waitFor();
    await shot(p, `role-${role}-refused`);
    await p.context().close();
  }

  // The OAuth2 callback is a page of its own, with a policy of its own (its one style, allowed by hash).
  await page.goto(`${base}/oauth2/callback?state=forged&code=x`);
  await page.getByText('Not authorised').first().waitFor();

  // The Chinese interface: switch in the header; nothing the user reads is left in English.
  const tour = [
    ['flows', '/flows', '.ant-table-row'],
    ['dashboard', '/dashboard', '.ferry-page'],
    ['runs', '/runs', '.ant-table-row'],
    ['dead-letters', '/dead-letters', '.ferry-page'],
    ['reviews', '/reviews?status=all', '.ant-table-row'],
    ['templates', '/templates', '.ant-card'],
    ['admin-settings', '/admin/settings', '.ferry-page'],
    ['editor', `/flows/${flowID}`, '.react-flow__node'],
  ];
  const english = {};
  for (const [name, path, ready] of tour) {
    await page.goto(base + path);
    await page.locator(ready).first().waitFor();
    if (name === 'editor') await openNode(map);
    english[name] = await visibleTexts(page);
  }
  await page.goto(base + '/flows');
  await page.locator('.ferry-header').getByText('简体中文').click();
  await page.getByText('运行记录').first().waitFor();
  for (const [name, path, ready] of tour) {
    await page.goto(base + path);
    await page.locator(ready).first().waitFor();
    if (name === 'editor') await openNode(map);
    await shot(page, `${name}-zh`);
    const left = englishLeft(english[name], await visibleTexts(page));
    check(left.length === 0, `the Chinese ${name} screen still shows English: ${JSON.stringify(left)}`);
  }
} catch (e) {
  failures.push(String(e && e.stack || e));
  if (browser) {
    const pages = browser.contexts().flatMap((c) => c.pages());
    for (const [i, p] of pages.entries()) await p.screenshot({ path: join(shots, `failure-${i}.png`) }).catch(() => {});
  }
} finally {
  if (browser) await browser.close();
  server.kill('SIGTERM');
  shopServer.close();
  hubServer.close();
  proxy.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(tlsDir, { recursive: true, force: true });
}
// Checked whether or not the steps above got through: a page broken by its policy fails them too.
check(cspViolations.length === 0, `${cspViolations.length} Content-Security-Policy violation(s), the first: ${JSON.stringify(cspViolations.slice(0, 10), null, 1)}`);
if (failures.length) {
  console.error('e2e failed:\n' + failures.join('\n'));
  process.exit(1);
}
console.log(`e2e passed (${step} screenshots in e2e/screenshots/)`);
