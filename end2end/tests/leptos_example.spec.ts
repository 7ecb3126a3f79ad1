import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { EXAMPLE_PASSWORD, LEPTOS_EXAMPLE_PORT } from '../playwright.config';

// The auto-logout-leptos components in a Leptos app of its own (examples/leptos: its router,
// its pages `/` and `/notes`), with an idle limit of 6 s and the warning 3 s before.
const base = `http://127.0.0.1:${LEPTOS_EXAMPLE_PORT}`;

async function signIn(page: Page) {
  await page.goto(`${base}/`);
  await page.getByLabel('Username').fill('example');
  await page.getByLabel('Password').fill(EXAMPLE_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${base}/notes`);
}

async function live(page: Page) {
  // The server-rendered HTML holds the seconds; the island then ticks them.
  await expect(page.getByTestId('idle-countdown')).toHaveAttribute('data-seconds', /\d+/);
}

async function openNotes(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${base}/notes`);
  await live(page);
  return page;
}

const seconds = async (page: Page) =>
  Number(await page.getByTestId('idle-countdown').getAttribute('data-seconds'));

test('the components tick, warn, and send an idle session to sign-in with reason=idle', async ({ page }) => {
  await signIn(page);
  await live(page);
  const first = await seconds(page);
  expect(first).toBeGreaterThanOrEqual(5);
  await expect.poll(() => seconds(page), { timeout: 3_000 }).toBeLessThan(first);
  const warning = page.getByTestId('expiry-warning');
  await expect(warning).toBeVisible({ timeout: 5_000 });
  await expect(page.getByTestId('stay-signed-in')).toBeFocused();
  await page.waitForURL(`${base}/?next=%2Fnotes&reason=idle`, { timeout: 6_000 });
  await expect(page.locator('#notice')).toHaveText('You were signed out after a period of inactivity.');
  expect((await page.request.get(`${base}/api/v1/session`)).status()).toBe(401);
});

test('"Stay signed in" extends the session, and a second tab follows', async ({ context }) => {
  const one = await context.newPage();
  await signIn(one);
  await live(one);
  const two = await openNotes(context);
  await expect(one.getByTestId('expiry-warning')).toBeVisible({ timeout: 5_000 });
  await expect(two.getByTestId('expiry-warning')).toBeVisible({ timeout: 5_000 });
  await one.getByTestId('stay-signed-in').click();
  await expect(one.getByTestId('expiry-warning')).toBeHidden();
  expect(await seconds(one)).toBeGreaterThanOrEqual(5);
  await expect(two.getByTestId('expiry-warning')).toBeHidden({ timeout: 1_500 });
  expect(await seconds(two)).toBeGreaterThanOrEqual(4);
  const status = await (await context.request.get(`${base}/api/v1/session`)).json();
  expect(status.seconds_until_idle_end).toBeGreaterThanOrEqual(4);
  await one.waitForURL(/\/\?next=%2Fnotes&reason=idle$/, { timeout: 9_000 });
  await two.waitForURL(/\/\?next=%2Fnotes&reason=idle$/, { timeout: 3_000 });
});

test('signing out in one tab sends the other to sign-in', async ({ context }) => {
  const one = await context.newPage();
  await signIn(one);
  await live(one);
  const two = await openNotes(context);
  await one.getByTestId('sign-out').click();
  await expect(one).toHaveURL(`${base}/`);
  await two.waitForURL(`${base}/?next=%2Fnotes`, { timeout: 4_000 });
});
