import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { ELEMENT_EXAMPLE_PORT, EXAMPLE_PASSWORD } from '../playwright.config';

// <auto-logout-countdown> on a page without Leptos: the axum-login example's server-rendered
// /me, with the engine's element (idle limit 6 s, warning 3 s before).
const base = `http://127.0.0.1:${ELEMENT_EXAMPLE_PORT}`;

async function signIn(context: BrowserContext) {
  const res = await context.request.post(`${base}/login`, {
    data: { username: 'example', password: EXAMPLE_PASSWORD },
  });
  expect(res.status()).toBe(204);
}

async function openMe(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${base}/me`);
  await expect(page.getByTestId('idle-countdown')).toHaveAttribute('data-seconds', /\d+/);
  return page;
}

const seconds = async (page: Page, testid: string) =>
  Number(await page.getByTestId(testid).getAttribute('data-seconds'));

test('the element ticks, warns, and leaves for /login with reason=idle at zero', async ({ context }) => {
  await signIn(context);
  const page = await openMe(context);
  // One module script from the engine's router: a loader, then the hashed module.
  const first = await seconds(page, 'idle-countdown');
  expect(first).toBeGreaterThanOrEqual(4);
  expect(first).toBeLessThanOrEqual(6);
  // The engine's default absolute limit (the example sets none): an hour.
  expect(await seconds(page, 'session-countdown')).toBeGreaterThan(3_500);
  await page.waitForTimeout(1_200);
  expect(await seconds(page, 'idle-countdown')).toBeLessThan(first);
  const warning = page.getByTestId('expiry-warning');
  await expect(warning).toBeVisible({ timeout: 5_000 });
  await expect(warning).toHaveAttribute('role', 'alertdialog');
  await expect(page.getByTestId('stay-signed-in')).toBeFocused();
  await expect(page.getByTestId('expiry-clock')).toHaveText(
    /You will be signed out for inactivity in 0:0[0-3]\./,
  );
  await page.waitForURL(`${base}/login?next=%2Fme&reason=idle`, { timeout: 6_000 });
  await expect(page.locator('#notice')).toHaveText('You were signed out after a period of inactivity.');
  expect((await context.request.get(`${base}/api/v1/session`)).status()).toBe(401);
});

test('"Stay signed in" extends the session, and a second tab follows', async ({ context }) => {
  await signIn(context);
  const one = await openMe(context);
  const two = await openMe(context);
  await expect(one.getByTestId('expiry-warning')).toBeVisible({ timeout: 5_000 });
  await expect(two.getByTestId('expiry-warning')).toBeVisible({ timeout: 5_000 });
  await one.getByTestId('stay-signed-in').click();
  await expect(one.getByTestId('expiry-warning')).toBeHidden();
  expect(await seconds(one, 'idle-countdown')).toBeGreaterThanOrEqual(5);
  // The other tab hears of it on the tabs' channel and reads the server's view again.
  await expect(two.getByTestId('expiry-warning')).toBeHidden({ timeout: 1_500 });
  expect(await seconds(two, 'idle-countdown')).toBeGreaterThanOrEqual(4);
  // The server agrees (a passive read: it does not extend by itself).
  const status = await (await context.request.get(`${base}/api/v1/session`)).json();
  expect(status.seconds_until_idle_end).toBeGreaterThanOrEqual(4);
  // Both tabs reach sign-in when the extended session runs out.
  await one.waitForURL(/\/login\?next=%2Fme&reason=idle$/, { timeout: 9_000 });
  await two.waitForURL(/\/login\?next=%2Fme&reason=idle$/, { timeout: 3_000 });
});

test('a sign-out from elsewhere reaches the page within a few seconds', async ({ context }) => {
  await signIn(context);
  const page = await openMe(context);
  // Signing out from elsewhere (not through this page) ends the session on the server; as
  // a browser would, the request says which site sent it (the engine refuses it otherwise).
  const signOut = await context.request.post(`${base}/logout`, { headers: { origin: base } });
  expect(signOut.status()).toBe(204);
  await page.waitForURL(`${base}/login?next=%2Fme`, { timeout: 4_000 });
});

test("the element's files are passive, hashed and cached, and the look can be styled", async ({ context }) => {
  await signIn(context);
  const page = await context.newPage();
  const files: string[] = [];
  page.on('response', (res) => {
    if (res.url().includes('/auto-logout/')) files.push(res.url());
  });
  await page.goto(`${base}/me`);
  await expect(page.getByTestId('idle-countdown')).toHaveAttribute('data-seconds', /\d+/);
  expect(files.some((f) => /\/auto-logout\/countdown-[0-9a-f]{16}\.js$/.test(f))).toBe(true);
  expect(files.some((f) => /\/auto-logout\/countdown-[0-9a-f]{16}\.wasm$/.test(f))).toBe(true);
  const module = files.find((f) => f.endsWith('.js') && f.includes('countdown-'))!;
  const res = await context.request.get(module, { headers: { 'accept-encoding': 'br' } });
  expect(res.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
  // Loading the element was not activity: the idle deadline did not move.
  const before = (await (await context.request.get(`${base}/api/v1/session`)).json()).seconds_until_idle_end;
  await context.request.get(`${base}/auto-logout/countdown.js`);
  await context.request.get(module);
  const after = (await (await context.request.get(`${base}/api/v1/session`)).json()).seconds_until_idle_end;
  expect(after).toBeLessThanOrEqual(before);
  // Custom properties reach into the shadow root.
  await page.evaluate(() =>
    document.querySelector('auto-logout-countdown')!.setAttribute('style', '--auto-logout-background: rgb(1, 2, 3)'),
  );
  const background = await page
    .locator('auto-logout-countdown')
    .evaluate((el) => getComputedStyle(el.shadowRoot!.querySelector('[part=bar]')!).backgroundColor);
  expect(background).toBe('rgb(1, 2, 3)');
});
