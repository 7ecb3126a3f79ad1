import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Browser, type Page } from '@playwright/test';
import * as fs from 'node:fs';
import { ADMIN, ADMIN_SERVER, ALICE, hydrated, signInAs, submitSignIn } from './helpers';

const base = ADMIN_SERVER;

async function newPage(browser: Browser, viewport?: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext(viewport ? { viewport } : {});
  return context.newPage();
}

test.describe.configure({ mode: 'serial' });

test('an administrator ends a user session; the open tab reaches sign-in within 3 s', async ({ browser }) => {
  const alice = await newPage(browser);
  await signInAs(alice, base, ALICE);
  const admin = await newPage(browser);
  await signInAs(admin, base, ADMIN);
  await admin.goto(`${base}/admin/sessions?state=active&user=alice`);
  await hydrated(admin);
  const row = admin.locator('[data-testid=admin-session-row][data-user=alice]').first();
  await expect(row).toBeVisible();
  await row.getByTestId('admin-end-session').click();
  const endedAt = Date.now();
  await alice.waitForURL(/\/sign-in\?next=%2Fhome&reason=revoked$/, { timeout: 3_000 });
  console.log(`the administrator's sign-out reached the user's tab after ${Date.now() - endedAt} ms`);
  await expect(admin.locator('[data-testid=admin-session-row][data-user=alice]')).toHaveCount(0);
});

test('a disabled user cannot sign in, and can again once enabled', async ({ browser }) => {
  const admin = await newPage(browser);
  await signInAs(admin, base, ADMIN);
  await admin.goto(`${base}/admin/users`);
  await hydrated(admin);
  await admin.locator('[data-testid=admin-user-row][data-user=alice]').getByTestId('disable-user').click();
  await expect(admin.getByTestId('admin-done')).toContainText('disabled');
  const alice = await newPage(browser);
  await alice.goto(`${base}/sign-in`);
  await hydrated(alice);
  await submitSignIn(alice, ALICE.username, ALICE.password);
  await expect(alice.getByTestId('sign-in-error')).toHaveText('Invalid username or password.');
  await admin.locator('[data-testid=admin-user-row][data-user=alice]').getByTestId('enable-user').click();
  await expect(admin.getByTestId('admin-done')).toContainText('enabled');
  await signInAs(alice, base, ALICE);
});

test('the activity log filters, and downloads the filtered view as CSV', async ({ browser }) => {
  const stranger = await newPage(browser);
  await stranger.goto(`${base}/sign-in`);
  await hydrated(stranger);
  await submitSignIn(stranger, ALICE.username, 'not her password');
  await expect(stranger.getByTestId('sign-in-error')).toBeVisible();
  const admin = await newPage(browser);
  await signInAs(admin, base, ADMIN);
  await admin.goto(`${base}/admin/activity`);
  await hydrated(admin);
  await admin.getByLabel('User', { exact: true }).fill('alice');
  await admin.getByTestId('event-filter').selectOption('login_failed');
  await admin.getByTestId('filter').click();
  await expect(admin).toHaveURL(/event=login_failed/);
  const rows = admin.getByTestId('activity-row');
  await expect(rows.first()).toBeVisible();
  const events = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-event')));
  expect(new Set(events)).toEqual(new Set(['login_failed']));
  const [download] = await Promise.all([admin.waitForEvent('download'), admin.getByTestId('csv').click()]);
  const csv = fs.readFileSync((await download.path())!, 'utf8').trim().split('\n');
  expect(csv[0]).toContain('id,at,event,username');
  expect(csv.length - 1).toBe(events.length);
  expect(csv.slice(1).every((line) => line.includes(',login_failed,alice,'))).toBe(true);
});

test('changing the password ends the other device and keeps this one', async ({ browser }) => {
  const laptop = await newPage(browser);
  await signInAs(laptop, base, ALICE);
  const phone = await newPage(browser);
  await signInAs(phone, base, ALICE);
  const sessionCookie = async () =>
    (await laptop.context().cookies()).find((c) => c.name === 'auto_logout_session')?.value;
  const before = await sessionCookie();
  await laptop.goto(`${base}/account/password`);
  await hydrated(laptop);
  await laptop.getByLabel('Current password').fill(ALICE.password);
  await laptop.getByLabel('New password', { exact: true }).fill('alice new password');
  await laptop.getByLabel('New password, again').fill('alice new password');
  await laptop.getByTestId('change-password').click();
  await expect(laptop.getByTestId('password-changed')).toContainText('signed out');
  await phone.waitForURL(/reason=revoked/, { timeout: 3_000 });
  await laptop.goto(`${base}/home`);
  await expect(laptop.getByTestId('greeting')).toContainText('alice');
  // This browser went on under a new session id; a copy of the old cookie is refused.
  const after = await sessionCookie();
  expect(before).toBeTruthy();
  expect(after).toBeTruthy();
  expect(after).not.toBe(before);
  const thief = await newPage(browser);
  await thief.context().addCookies([{ name: 'auto_logout_session', value: before!, url: base }]);
  await thief.goto(`${base}/home`);
  await expect(thief).toHaveURL(/\/sign-in/);
  await thief.context().close();
  // Put the old password back for the other tests.
  await laptop.goto(`${base}/account/password`);
  await hydrated(laptop);
  await laptop.getByLabel('Current password').fill('alice new password');
  await laptop.getByLabel('New password', { exact: true }).fill(ALICE.password);
  await laptop.getByLabel('New password, again').fill(ALICE.password);
  await laptop.getByTestId('change-password').click();
  await expect(laptop.getByTestId('password-changed')).toBeVisible();
});

const PAGES = ['/', '/sign-in', '/logout', '/home', '/sessions', '/account', '/account/password', '/account/activity', '/admin/sessions', '/admin/activity', '/admin/users'];

test('at 360 px no page scrolls sideways and "Sign out" is visible', async ({ browser }) => {
  const page = await newPage(browser, { width: 360, height: 740 });
  await page.goto(`${base}/`);
  for (const anonymous of ['/', '/sign-in']) {
    await page.goto(`${base}${anonymous}`);
    await hydrated(page);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  }
  await signInAs(page, base, ADMIN);
  for (const path of PAGES.filter((p) => p !== '/sign-in')) {
    await page.goto(`${base}${path}`);
    await hydrated(page);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width, `${path} is ${width} px wide`).toBeLessThanOrEqual(360);
    await expect(page.getByTestId('sign-out'), path).toBeInViewport();
  }
});

test('no page has an automatically detectable accessibility violation', async ({ browser }) => {
  const page = await newPage(browser);
  const check = async (path: string) => {
    await page.goto(`${base}${path}`);
    await hydrated(page);
    const results = await new AxeBuilder({ page }).analyze();
    const found = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    expect(found, path).toEqual([]);
  };
  for (const path of ['/', '/sign-in']) await check(path);
  await signInAs(page, base, ADMIN);
  for (const path of PAGES.filter((p) => p !== '/sign-in')) await check(path);
});

/** Presses Tab until `target` has the focus (at most 80 times), as a keyboard user would. */
async function tabTo(page: Page, target: ReturnType<Page['locator']>) {
  for (let i = 0; i < 80; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  await expect(target).toBeFocused();
}

test('signing in and using the admin console work by keyboard alone', async ({ browser }) => {
  const page = await newPage(browser);
  await page.goto(`${base}/sign-in`);
  await hydrated(page);
  await tabTo(page, page.getByLabel('Username'));
  await page.keyboard.type(ADMIN.username);
  await page.keyboard.press('Tab');
  await page.keyboard.type(ADMIN.password);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(`${base}/home`);
  await page.goto(`${base}/admin/users`);
  await hydrated(page);
  const row = page.locator('[data-testid=admin-user-row][data-user=alice]');
  await tabTo(page, row.getByTestId('disable-user'));
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('admin-done')).toContainText('disabled');
  await tabTo(page, row.getByTestId('enable-user'));
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('admin-done')).toContainText('enabled');
  await tabTo(page, page.getByTestId('sign-out'));
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(`${base}/`);
});
