import { expect, test, type Page } from '@playwright/test';
import {
  ADMIN,
  ADMIN_SERVER,
  ALICE,
  BOB,
  NO_LOST_WORK,
  browserStorage,
  draftKeys,
  hideTab,
  hydrated,
  secondsOf,
  signInAs,
  submitSignIn,
} from './helpers';

// SPEC §5 "No lost work", on a server with a 6-second idle limit and a 4-second warning.
const base = NO_LOST_WORK;

/** Signs `who` in and opens the hydrated /account page. */
async function openAccount(page: Page, who: { username: string; password: string }) {
  await signInAs(page, base, who);
  await page.goto(`${base}/account`);
  await hydrated(page);
}

/** Types a draft into /account and waits until the browser has kept it. */
async function typeDraft(page: Page, name: string, email = '') {
  await page.getByLabel('Display name').fill(name);
  if (email) await page.getByLabel('Email').fill(email);
  await expect.poll(() => draftKeys(page)).toHaveLength(1);
}

/** Waits (without input) for the idle limit to sign the page out. */
async function idleSignOut(page: Page) {
  await page.waitForURL(/\/sign-in\?next=%2Faccount&reason=idle$/, { timeout: 15_000 });
  await hydrated(page);
}

test('what was typed on /account survives an idle sign-out and is back after signing in again', async ({ page }) => {
  await openAccount(page, ALICE);
  await typeDraft(page, 'Alice (unsaved)', 'alice@wonderland.example');
  // Kept encrypted: neither value is readable in the browser's storage.
  const stored = await browserStorage(page);
  expect(stored).not.toContain('Alice (unsaved)');
  expect(stored).not.toContain('wonderland');

  await idleSignOut(page);
  expect(await draftKeys(page)).toHaveLength(1);
  await submitSignIn(page, ALICE.username, ALICE.password);
  await expect(page).toHaveURL(`${base}/account`);
  await expect(page.getByTestId('draft-restored')).toBeVisible();
  await expect(page.getByTestId('draft-restored')).toContainText('Restored your unsaved changes');
  await expect(page.getByLabel('Display name')).toHaveValue('Alice (unsaved)');
  await expect(page.getByLabel('Email')).toHaveValue('alice@wonderland.example');

  // "Discard" puts back what the server has and forgets the draft.
  await page.getByTestId('discard-draft').click();
  await expect(page.getByTestId('draft-restored')).toHaveCount(0);
  await expect(page.getByLabel('Display name')).toHaveValue('');
  expect(await draftKeys(page)).toEqual([]);
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel('Display name')).toHaveValue('');
  await expect(page.getByTestId('draft-restored')).toHaveCount(0);
});

test('saving the form deletes its draft, and /home greets by the new name', async ({ page }) => {
  await openAccount(page, ALICE);
  await typeDraft(page, 'Alice Liddell');
  await page.getByTestId('save-account').click();
  await expect(page.getByTestId('account-saved')).toBeVisible();
  await expect.poll(() => draftKeys(page)).toEqual([]);
  await expect(page.getByLabel('Display name')).toHaveValue('Alice Liddell');
  await page.goto(`${base}/home`);
  await expect(page.getByTestId('greeting')).toHaveText('Hello, Alice Liddell!');
  // Put the name back for the other tests.
  await page.goto(`${base}/account`);
  await hydrated(page);
  await page.getByLabel('Display name').fill('');
  await page.getByTestId('save-account').click();
  await expect(page.getByTestId('account-saved')).toBeVisible();
});

test('another account signing in on the same browser sees no draft, and it is gone', async ({ page }) => {
  await openAccount(page, ALICE);
  await typeDraft(page, 'Only for Alice');
  await idleSignOut(page);
  await submitSignIn(page, BOB.username, BOB.password);
  await expect(page).toHaveURL(`${base}/account`);
  await hydrated(page);
  await expect(page.getByTestId('account')).toBeVisible();
  await expect(page.getByLabel('Display name')).not.toHaveValue('Only for Alice');
  await expect(page.getByTestId('draft-restored')).toHaveCount(0);
  await expect.poll(() => draftKeys(page)).toEqual([]);
  expect(await browserStorage(page)).not.toContain('Only for Alice');
});

test('signing out yourself leaves no draft in the browser', async ({ page }) => {
  await openAccount(page, ALICE);
  await typeDraft(page, 'Typed, then signed out');
  await page.getByTestId('sign-out').click();
  await expect(page).toHaveURL(`${base}/`);
  expect(await draftKeys(page)).toEqual([]);
});

test('a draft older than an hour is deleted at the next page load, even on the sign-in page', async ({ page }) => {
  await page.goto(`${base}/sign-in`);
  await hydrated(page);
  const stale = 'auto-logout.draft.0123456789abcdef./account';
  const recent = 'auto-logout.draft.0123456789abcdef./admin/users';
  await page.evaluate(([stale, recent]) => {
    const record = (age: number) => JSON.stringify({ at: Date.now() - age, iv: '00', data: '00' });
    localStorage.setItem(stale, record(3_600_001));
    localStorage.setItem(recent, record(60_000));
  }, [stale, recent]);
  await page.reload();
  await hydrated(page);
  // The recent one waits for its account to sign in again; the old one is gone unread.
  expect(await draftKeys(page)).toEqual([recent]);
});

test('password fields are never kept', async ({ page }) => {
  await signInAs(page, base, ALICE);
  await page.goto(`${base}/account/password`);
  await hydrated(page);
  await page.getByLabel('Current password').fill('typed current secret');
  await page.getByLabel('New password', { exact: true }).fill('typed new secret');
  // A field that is kept is stored within milliseconds (see the tests above); give the
  // password fields ten times that.
  await page.waitForTimeout(500);
  expect(await draftKeys(page)).toEqual([]);
  const stored = await browserStorage(page);
  expect(stored).not.toContain('typed current secret');
  expect(stored).not.toContain('typed new secret');
});

test('a form with a password field keeps the other fields and never the password', async ({ page }) => {
  // The administrators' "New account" form: a username, a password, a checkbox.
  await signInAs(page, ADMIN_SERVER, ADMIN);
  await page.goto(`${ADMIN_SERVER}/admin/users`);
  await hydrated(page);
  await page.getByLabel('Username').fill('carol-draft');
  await page.getByLabel('Password').fill('carol secret password');
  await page.getByLabel('Administrator').check();
  await expect.poll(() => draftKeys(page)).toHaveLength(1);
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('draft-restored')).toBeVisible();
  await expect(page.getByLabel('Username')).toHaveValue('carol-draft');
  await expect(page.getByLabel('Administrator')).toBeChecked();
  await expect(page.getByLabel('Password')).toHaveValue('');
  expect(await browserStorage(page)).not.toContain('carol secret password');
  await page.getByTestId('discard-draft').click();
  await expect(page.getByLabel('Username')).toHaveValue('');
  expect(await draftKeys(page)).toEqual([]);
});

test('in a hidden tab the warning counts down in the title, restored after "Stay signed in"', async ({ page }) => {
  await signInAs(page, base, ALICE);
  const title = await page.title();
  await hideTab(page);
  const warning = page.getByTestId('expiry-warning');
  await expect(warning).toBeVisible({ timeout: 8_000 });
  await expect(page).toHaveTitle(/^\(0:0[1-4]\) Session ending - auto-logout$/);
  // It counts: two different seconds are seen in the title.
  const seen = await page.evaluate(async () => {
    const titles = new Set<string>();
    for (let i = 0; i < 14; i++) {
      titles.add(document.title);
      await new Promise((r) => setTimeout(r, 100));
    }
    return [...titles];
  });
  expect(seen.filter((t) => /^\(0:0\d\) Session ending/.test(t)).length).toBeGreaterThanOrEqual(2);
  await page.getByTestId('stay-signed-in').click();
  await expect(warning).toBeHidden();
  await expect(page).toHaveTitle(title);
  expect(await secondsOf(page, 'idle-countdown')).toBeGreaterThanOrEqual(4);
});

/** Replaces the browser's Notification with one that records what the page does with it. */
async function recordNotifications(page: Page, permission: 'granted' | 'default') {
  await page.addInitScript((initial) => {
    const w = window as any;
    w.__shown = [];
    w.__asked = 0;
    class RecordedNotification {
      static permission = initial;
      static requestPermission() {
        w.__asked += 1;
        RecordedNotification.permission = 'granted';
        return Promise.resolve('granted');
      }
      title: string;
      options: any;
      onclick: null | (() => void) = null;
      closed = false;
      constructor(title: string, options: any) {
        this.title = title;
        this.options = options;
        w.__shown.push(this);
      }
      close() {
        this.closed = true;
      }
    }
    w.Notification = RecordedNotification;
  }, permission);
}

test('a hidden tab shows one notification at the warning, and clicking it keeps the session', async ({ page }) => {
  await recordNotifications(page, 'granted');
  await signInAs(page, base, ALICE);
  await hideTab(page);
  await expect(page.getByTestId('expiry-warning')).toBeVisible({ timeout: 8_000 });
  await expect.poll(() => page.evaluate(() => (window as any).__shown.length)).toBe(1);
  const shown = await page.evaluate(() => {
    const n = (window as any).__shown[0];
    return { title: n.title, body: n.options.body, clickable: typeof n.onclick === 'function' };
  });
  expect(shown.title).toBe('Your session is about to end');
  expect(shown.body).toContain('stay signed in');
  expect(shown.clickable).toBe(true);
  // One per warning, not one per second.
  await page.waitForTimeout(1_200);
  expect(await page.evaluate(() => (window as any).__shown.length)).toBe(1);
  // Its click is "Stay signed in".
  await page.evaluate(() => (window as any).__shown[0].onclick());
  await expect(page.getByTestId('expiry-warning')).toBeHidden();
  expect(await page.evaluate(() => (window as any).__shown[0].closed)).toBe(true);
  expect(await secondsOf(page, 'idle-countdown')).toBeGreaterThanOrEqual(4);
  expect(await page.evaluate(() => (window as any).__asked)).toBe(0);
});

test('permission to notify is asked only from the warning, when the person presses for it', async ({ page }) => {
  await recordNotifications(page, 'default');
  await signInAs(page, base, ALICE);
  const warning = page.getByTestId('expiry-warning');
  await expect(warning).toBeVisible({ timeout: 8_000 });
  expect(await page.evaluate(() => (window as any).__asked)).toBe(0);
  await page.getByTestId('allow-notifications').click();
  await expect.poll(() => page.evaluate(() => (window as any).__asked)).toBe(1);
  await expect(page.getByTestId('allow-notifications')).toHaveCount(0);
});

test('the idle time left is also a thin bar that empties', async ({ page }) => {
  await signInAs(page, base, ALICE);
  const bar = page.getByTestId('idle-progress');
  const percent = async () => Number(await bar.getAttribute('data-percent'));
  expect(await percent()).toBeGreaterThanOrEqual(80);
  await expect.poll(percent, { timeout: 5_000 }).toBeLessThanOrEqual(50);
  // A <progress> showing that percentage (an inline style would break the page's CSP).
  const shown = await bar.evaluate((el) => {
    const bar = el as HTMLProgressElement;
    return { tag: bar.tagName, value: bar.value, max: bar.max, percent: Number(bar.dataset.percent) };
  });
  expect(shown).toEqual({ tag: 'PROGRESS', value: shown.percent, max: 100, percent: shown.percent });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the account form saves with a plain post, and nothing breaks without drafts', async ({ page }) => {
    await page.goto(`${base}/account`);
    await expect(page).toHaveURL(/\/sign-in\?next=%2Faccount$/);
    await submitSignIn(page, BOB.username, BOB.password);
    await expect(page).toHaveURL(`${base}/account`);
    await page.getByLabel('Email').fill('not an address');
    await page.getByTestId('save-account').click();
    // The browser's own check of type=email stops this one; the server's is tested apart.
    await expect(page).toHaveURL(`${base}/account`);
    await page.getByLabel('Display name').fill('Bob Without Script');
    await page.getByLabel('Email').fill('bob@example.org');
    await page.getByTestId('save-account').click();
    await expect(page).toHaveURL(`${base}/account?saved=1`);
    await expect(page.getByTestId('account-saved')).toBeVisible();
    await expect(page.getByLabel('Display name')).toHaveValue('Bob Without Script');
    await page.goto(`${base}/home`);
    await expect(page.getByTestId('greeting')).toHaveText('Hello, Bob Without Script!');
    expect(await draftKeys(page)).toEqual([]);
  });
});
