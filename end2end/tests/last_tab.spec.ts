import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { apiGet, hideTab, hydrated, signInAt, startOwnServer, type OwnServer } from './helpers';

// Signing out with the last tab (SPEC §3 `end_with_last_tab`, `last_tab_grace`), on a server of
// its own whose grace is 3 s (so a visible tab that goes silent is taken as gone after 12 s).
const port = Number(process.env.E2E_PORT ?? 3100) + 9;
const base = `http://127.0.0.1:${port}`;
const GRACE_MS = 3_000;

let server: OwnServer | undefined;

test.beforeAll(async () => {
  server = await startOwnServer(port, {
    AUTO_LOGOUT_END_WITH_LAST_TAB: 'true',
    AUTO_LOGOUT_LAST_TAB_GRACE: '3s',
  });
});

test.afterAll(() => {
  server?.stop();
});

/** The site's list of open tabs in `page`'s localStorage (`session,id,written_at,h|v;…`). */
async function openTabs(page: Page): Promise<string[]> {
  const text = await page.evaluate(() => localStorage.getItem('auto-logout-tabs') ?? '');
  return text.split(';').filter((entry) => entry.length > 0);
}

/** A new tab of `context` showing /home, hydrated, once the server has heard it. */
async function openHome(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${base}/home`);
  await hydrated(page);
  return page;
}

/** A new browser, signed in, with two tabs on /home that know of each other. */
async function twoTabs(browser: Browser): Promise<{ context: BrowserContext; first: Page; second: Page }> {
  const context = await browser.newContext();
  const first = await context.newPage();
  await signInAt(first, base);
  const second = await openHome(context);
  await expect.poll(() => openTabs(second)).toHaveLength(2);
  return { context, first, second };
}

/**
 * Once every tab of `context` is closed: a grace (and a margin) later, a new tab of the same
 * browser (its session cookie still there, a shared computer's browser left open) lands on the
 * sign-in page, told why. Well before the 12 s a silent tab is allowed: a closing page said so.
 */
async function returnFindsSignedOut(context: BrowserContext): Promise<Page> {
  await new Promise((r) => setTimeout(r, GRACE_MS + 2_000));
  const again = await context.newPage();
  await again.goto(`${base}/home`);
  await expect(again).toHaveURL(`${base}/sign-in?next=%2Fhome&reason=tabs_closed`);
  return again;
}

/** Whether the session of `page`'s browser is still live on the server. */
async function signedIn(page: Page): Promise<boolean> {
  return (await page.request.get(`${base}/api/v1/session`)).status() === 200;
}

test('closing every tab signs out after the grace, and the next visit says why', async ({ browser }) => {
  const { context, first, second } = await twoTabs(browser);

  // The first to close says so; the other, told over the tabs' channel, says it is still
  // there. The second closes once that word has been heard, with no beat of its own in flight
  // (one sent just before the close could reach the server after the close's beacon: then
  // the session ends by the silence, four graces later, not by the grace; see the note).
  const stillThere = second.waitForResponse((r) => r.url().endsWith('/api/v1/session/tabs'));
  await first.close({ runBeforeUnload: true });
  await stillThere;
  expect(await signedIn(second)).toBe(true);
  const beat = second.waitForResponse((r) => r.url().endsWith('/api/v1/session/tabs'));
  await beat;
  await second.close({ runBeforeUnload: true });

  const again = await returnFindsSignedOut(context);
  await expect(again.getByTestId('expiry-message')).toContainText('every tab of this site was closed');
  await context.close();
});

test('a window closed with two tabs at once signs out too', async ({ browser }) => {
  const { context, first, second } = await twoTabs(browser);
  // Both go at the same moment: each may still see the other in the list.
  await Promise.all([first.close({ runBeforeUnload: true }), second.close({ runBeforeUnload: true })]);
  await returnFindsSignedOut(context);
  await context.close();
});

test('reloads and changes of page never sign out', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signInAt(page, base);
  for (let i = 0; i < 4; i++) {
    await page.reload();
    await hydrated(page);
  }
  for (const path of ['/sessions', '/account', '/home']) {
    await page.goto(`${base}${path}`);
    await hydrated(page);
  }
  // Changes of page inside the app (no reload): the countdown is replaced, the tab stays.
  await page.getByRole('link', { name: 'Sessions' }).first().click();
  await expect(page).toHaveURL(`${base}/sessions`);
  await page.getByRole('link', { name: 'Home' }).first().click();
  await expect(page).toHaveURL(`${base}/home`);
  await page.waitForTimeout(3 * GRACE_MS);
  await expect(page).toHaveURL(`${base}/home`);
  expect(await signedIn(page)).toBe(true);
  await expect.poll(() => openTabs(page)).toHaveLength(1);
  await context.close();
});

test('a hidden tab whose timers stop for a long while is still an open tab', async ({ browser }) => {
  const { context, first: visible, second: background } = await twoTabs(browser);

  // The background tab is hidden, then frozen: no timer, no request, as a throttled or
  // suspended tab. The visible one closes; the hidden one is now the only tab.
  await hideTab(background);
  const cdp = await context.newCDPSession(background);
  await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
  await visible.close({ runBeforeUnload: true });

  // Ten graces, two and a half times the silence a visible tab is allowed.
  await new Promise((r) => setTimeout(r, 10 * GRACE_MS));
  await cdp.send('Page.setWebLifecycleState', { state: 'active' });
  expect(await apiGet(background, `${base}/api/v1/session`)).toMatchObject({ status: 200 });
  // Back in front: it says so, and stays.
  await background.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await background.waitForTimeout(2 * GRACE_MS);
  await expect(background).toHaveURL(`${base}/home`);
  expect(await signedIn(background)).toBe(true);
  await context.close();
});
