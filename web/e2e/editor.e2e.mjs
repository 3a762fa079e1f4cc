// End-to-end test of the editor in a real browser: Debian's Chromium, driven by playwright-core, against a real
// ferry started here on a private data directory. It sets Ferry up, builds a webhook → respond flow by dragging
// from the palette, sets the business key in the generated form, saves, test-runs, publishes, sends a webhook,
// finds the run by its business key, and checks the Chinese interface. Screenshots of each screen go to
// e2e/screenshots/ (not committed).
//
//   FERRY_BIN=/path/to/ferry npm run e2e      (CHROMIUM defaults to /usr/bin/chromium)
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';

const bin = process.env.FERRY_BIN;
if (!bin) {
  console.error('FERRY_BIN must name a built ferry binary');
  process.exit(2);
}
const shots = new URL('./screenshots/', import.meta.url).pathname;
mkdirSync(shots, { recursive: true });

const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), 'ferry-e2e-'));
const server = spawn(bin, ['--data-dir', dataDir, '--addr', `127.0.0.1:${port}`, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });

async function waitReady() {
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('ferry did not start');
}

let browser;
let step = 0;
const failures = [];
try {
  await waitReady();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  const shot = async (name) => page.screenshot({ path: join(shots, `${String(++step).padStart(2, '0')}-${name}.png`) });

  // First run: create the admin.
  await page.goto(base + '/');
  await page.getByText('Ferry has no users yet').waitFor();
  await shot('setup');
  await page.locator('input[type=email], input[autocomplete=username]').first().fill('ops@shop.example');
  await page.locator('input[type=password]').first().fill('a long enough password');
  await page.locator('button[type=submit]').first().click();
  // Setup shows the first API token once.
  await page.locator('.ant-modal').waitFor();
  await shot('first-token');
  await page.locator('.ant-modal .ant-btn-primary').last().click();
  await page.locator('.ant-modal').waitFor({ state: 'hidden' });
  await page.getByRole('button', { name: 'New flow' }).waitFor();
  await shot('flows-empty');

  // A new flow starts with a webhook trigger.
  await page.getByRole('button', { name: 'New flow' }).click();
  await page.locator('.ant-modal input').first().fill('Order paid');
  await page.locator('.ant-modal .ant-btn-primary').click();
  await page.waitForURL(/\/flows\/[^/]+$/);
  const flowID = page.url().split('/').pop();
  await page.locator('.react-flow__node').first().waitFor();

  // Drag a Respond node from the palette and connect the webhook to it.
  const pane = page.locator('.react-flow__pane');
  await page.getByPlaceholder('Search nodes').fill('respond');
  await page.getByText('core.respond').first().dragTo(pane, { targetPosition: { x: 820, y: 420 } });
  await page.waitForFunction(() => document.querySelectorAll('.react-flow__node').length === 2);
  const ids = await page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
  const respondID = ids.find((id) => id !== 'webhook');
  await page.locator('.react-flow__handle.source[data-nodeid="webhook"]').first()
    .dragTo(page.locator(`.react-flow__handle.target[data-nodeid="${respondID}"]`).first());
  await page.waitForFunction(() => document.querySelectorAll('.react-flow__edge').length === 1);
  await shot('editor-connected');

  // The webhook's business key, typed into the form generated from the node's spec.
  await page.locator('.react-flow__node[data-id="webhook"]').click();
  const keyField = page.locator('.ant-form-item', { hasText: 'Business key' }).locator('input, textarea').first();
  await keyField.fill('trigger.body.order_id');
  await shot('node-panel');
  await page.keyboard.press('Escape');
  await page.locator('.ant-drawer-close').click().catch(() => {});

  await page.keyboard.press('Control+s'); // the keyboard shortcut saves, like the Save button
  await page.getByText('revision 2').waitFor();

  // Test run with a sample payload: each node shows its status.
  await page.getByRole('button', { name: 'Test run…' }).click();
  const testDialog = page.getByRole('dialog', { name: 'Test run' });
  await testDialog.locator('textarea').first().fill('{"body": {"order_id": "E2E-1001", "amount": "88.00"}}');
  await testDialog.locator('.ant-btn-primary').click();
  await page.locator('.react-flow__node', { hasText: /succeeded|dry run/i }).first().waitFor();
  await testDialog.waitFor({ state: 'hidden' }); // the dialog closes itself; results stay on the canvas
  await shot('test-run');

  // Publish, then deliver a real webhook.
  await page.getByRole('button', { name: 'Publish' }).click();
  const publishDialog = page.getByRole('dialog', { name: 'Publish the draft' });
  await publishDialog.locator('input, textarea').first().fill('first version');
  await publishDialog.locator('.ant-btn-primary').click();
  await page.getByText(/Published as version 1/).waitFor();
  const hook = await fetch(`${base}/hooks/${flowID}`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ order_id: 'E2E-2002', amount: '120.00' }) });
  if (hook.status >= 300) throw new Error(`webhook answered ${hook.status}`);

  // Find the run by its business key.
  await page.goto(`${base}/runs?businessKey=E2E-2002`);
  await page.locator('.ant-table-row').first().waitFor();
  await shot('runs-by-business-key');
  await page.locator('.ant-table-row a').first().click();
  await page.getByText('Trigger payload').waitFor();
  await shot('run');

  // The Chinese interface.
  await page.evaluate(() => localStorage.setItem('ferry.lang', 'zh-CN'));
  await page.goto(base + '/');
  await page.getByText('流程', { exact: true }).first().waitFor();
  await page.getByText('运行记录').first().waitFor();
  await page.locator('.ant-table-row', { hasText: 'Order paid' }).waitFor();
  await shot('flows-zh');
  for (const english of ['New flow', 'Runs', 'Sign out']) {
    if (await page.getByText(english, { exact: true }).count()) failures.push(`"${english}" is still English in the Chinese interface`);
  }
} catch (e) {
  failures.push(String(e && e.stack || e));
  if (browser) {
    const pages = browser.contexts().flatMap((c) => c.pages());
    if (pages.length) await pages[0].screenshot({ path: join(shots, 'failure.png') }).catch(() => {});
  }
} finally {
  if (browser) await browser.close();
  server.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
if (failures.length) {
  console.error('e2e failed:\n' + failures.join('\n'));
  process.exit(1);
}
console.log(`e2e passed (${step} screenshots in e2e/screenshots/)`);
