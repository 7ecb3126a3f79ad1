import { expect, test } from '@playwright/test';
import { DEMO, hydrated, startOwnServer, submitSignIn, type OwnServer } from './helpers';

// "Was this you?" (SPEC §4): a sign-in from a new device is marked on /sessions and
// /account/activity; "This wasn't me" signs out everywhere and the next sign-in asks for a new
// password. On a server of its own: it changes the demo account's password.
const port = Number(process.env.E2E_PORT ?? 3100) + 8;
const FIREFOX =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';

let server: OwnServer | undefined;

test.beforeAll(async () => {
  server = await startOwnServer(port, {});
});

test.afterAll(() => {
  server?.stop();
});

test('a new device is marked, and "This wasn\'t me" signs out everywhere and asks for a new password', async ({ browser }) => {
  const base = server!.base;
  const signIn = async (userAgent?: string) => {
    const page = await (await browser.newContext(userAgent ? { userAgent } : {})).newPage();
    await page.goto(`${base}/sign-in`);
    await hydrated(page);
    await submitSignIn(page);
    await expect(page).toHaveURL(`${base}/home`);
    return page;
  };
  const usual = await signIn();
  const stranger = await signIn(FIREFOX);

  await usual.goto(`${base}/sessions`);
  await expect(usual.getByTestId('session-row')).toHaveCount(2);
  await expect(usual.getByTestId('new-device')).toHaveCount(1);
  await expect(usual.locator('[data-testid=session-row]', { has: usual.getByTestId('new-device') })).toContainText('Firefox');

  await usual.getByRole('link', { name: /was this you/ }).click();
  await expect(usual).toHaveURL(`${base}/account/activity`);
  await hydrated(usual);
  const rows = usual.getByTestId('activity-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toContainText('Signed in');
  await expect(rows.first()).toContainText('Firefox');
  await expect(rows.first().getByTestId('new-device')).toBeVisible();
  await expect(rows.first()).toContainText('127.0.0.0/24');

  await usual.getByTestId('not-me').click();
  await expect(usual).toHaveURL(/\/sign-in\?next=%2Faccount%2Fpassword&reason=not_me$/);
  await expect(usual.getByTestId('expiry-message')).toContainText('choose a new password');
  // The other browser is signed out too, and its open page reaches the sign-in page.
  await expect(stranger).toHaveURL(/\/sign-in/, { timeout: 10_000 });

  await hydrated(usual);
  await submitSignIn(usual, DEMO.username, DEMO.password);
  await expect(usual).toHaveURL(`${base}/account/password?required=1`);
  await expect(usual.getByTestId('password-change-required')).toBeVisible();
});
