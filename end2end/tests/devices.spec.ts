import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { DEMO, hydrated, submitSignIn } from './helpers';

/** A new browser context (a device) signed in as the demo user, on /home. */
async function device(browser: Browser, remember = false): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/sign-in');
  await hydrated(page);
  if (remember) await page.getByLabel('Remember me').check();
  await submitSignIn(page);
  await expect(page).toHaveURL(/\/home$/);
  return { context, page };
}

async function sessionIdOf(page: Page): Promise<string> {
  const body = await page.evaluate(async () => (await fetch('/api/v1/session')).json());
  return body.session_id;
}

test('two devices see each other, and one signs the other out', async ({ browser }) => {
  const a = await device(browser);
  const b = await device(browser);
  const [aId, bId] = [await sessionIdOf(a.page), await sessionIdOf(b.page)];

  for (const [me, myId, otherId] of [[a.page, aId, bId], [b.page, bId, aId]] as const) {
    await me.goto('/sessions');
    await expect(me.locator(`[data-session-id="${myId}"]`)).toHaveAttribute('data-current', 'true');
    await expect(me.locator(`[data-session-id="${myId}"] [data-testid=this-device]`)).toBeVisible();
    await expect(me.locator(`[data-session-id="${otherId}"]`)).toHaveAttribute('data-current', 'false');
    await expect(me.locator(`[data-session-id="${otherId}"] [data-testid=browser]`)).toContainText('Chrome');
  }

  // B sits on /home; A signs B out from its list.
  await b.page.goto('/home');
  await hydrated(b.page);
  await hydrated(a.page);
  await a.page.locator(`[data-session-id="${bId}"] [data-testid=revoke]`).click();
  const revokedAt = Date.now();
  await expect(a.page.locator(`[data-session-id="${bId}"]`)).toHaveCount(0);
  await b.page.waitForURL(/\/sign-in\?next=%2Fhome&reason=revoked$/, { timeout: 3_000 });
  console.log(`revocation reached the other device's open tab after ${Date.now() - revokedAt} ms`);
  await expect(b.page.getByTestId('expiry-message')).toContainText('signed out from another device');
  await a.context.close();
  await b.context.close();
});

test('"sign out all other sessions" sends every other device to sign-in', async ({ browser }) => {
  const me = await device(browser);
  const others = [await device(browser), await device(browser), await device(browser)];
  for (const o of others) await hydrated(o.page);
  await me.page.goto('/sessions');
  await hydrated(me.page);
  // Earlier tests may have left sessions of the demo user; all of them are "others" too.
  expect(await me.page.getByTestId('session-row').count()).toBeGreaterThanOrEqual(4);
  await me.page.getByTestId('revoke-others').click();
  await expect(me.page.getByTestId('session-row')).toHaveCount(1);
  for (const o of others) {
    await o.page.waitForURL(/reason=revoked/, { timeout: 3_000 });
  }
  await expect(me.page.getByTestId('this-device')).toBeVisible();
  for (const d of [me, ...others]) await d.context.close();
});

/** Closes a device's browser and opens it again: session cookies are gone, persistent ones stay. */
async function reopen(browser: Browser, context: BrowserContext): Promise<Page> {
  const state = await context.storageState();
  await context.close();
  const persistent = state.cookies.filter((c) => c.expires !== -1);
  const reopened = await browser.newContext({ storageState: { cookies: persistent, origins: [] } });
  return reopened.newPage();
}

test('remember me survives closing the browser; without it the user is signed out', async ({ browser }) => {
  const remembered = await device(browser, true);
  const page = await reopen(browser, remembered.context);
  await page.goto('/home');
  await expect(page).toHaveURL(/\/home$/);
  await expect(page.getByTestId('greeting')).toContainText(DEMO.username);
  await page.context().close();

  const forgotten = await device(browser, false);
  const page2 = await reopen(browser, forgotten.context);
  await page2.goto('/home');
  await expect(page2).toHaveURL(/\/sign-in\?next=%2Fhome/);
  await page2.context().close();
});
