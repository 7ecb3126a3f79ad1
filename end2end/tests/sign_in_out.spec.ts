import { expect, test } from '@playwright/test';
import { DEMO, hydrated, submitSignIn } from './helpers';

test('sign in, see /home, sign out, and Back shows nothing protected', async ({ page }) => {
  await page.goto('/home');
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fhome$/);
  await hydrated(page);

  // Once hydrated, signing in and out happens without a full page load.
  await page.evaluate(() => ((window as any).__sameDocument = true));
  await submitSignIn(page);
  await expect(page).toHaveURL(/\/home$/);
  await expect(page.getByTestId('greeting')).toContainText(`Hello, ${DEMO.username}`);
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);

  await page.getByTestId('sign-out').click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('flash')).toHaveText('You have been signed out.');
  await expect(page.getByTestId('signed-in-as')).toHaveCount(0);
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);

  await page.goBack(); // the /home entry of this same document
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fhome$/);
  await expect(page.getByTestId('greeting')).toHaveCount(0);
  await expect(page.getByText(`Hello, ${DEMO.username}`)).toHaveCount(0);
});

test('Back after a full-page sign-out does not show /home from any cache', async ({ page }) => {
  await page.goto('/sign-in');
  await submitSignIn(page);
  await expect(page.getByTestId('greeting')).toBeVisible();
  // Full page loads of /home and of the confirmation page, then sign out there.
  await page.goto('/home');
  await expect(page.getByTestId('greeting')).toBeVisible();
  await page.goto('/logout');
  await hydrated(page);
  await page.getByTestId('confirm-sign-out').click();
  await expect(page).toHaveURL(/\/$/);
  await page.goBack(); // the confirmation page
  await expect(page).toHaveURL(/\/logout$/);
  await page.goBack(); // the fully loaded /home document
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fhome$/);
  await expect(page.getByTestId('greeting')).toHaveCount(0);
  await expect(page.getByText(`Hello, ${DEMO.username}`)).toHaveCount(0);
});

test('links and forms swap the page in place; the countdown stops polling once signed out', async ({ page }) => {
  const statusReads: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/v1/session') statusReads.push(r.url());
  });
  await page.goto('/sign-in');
  await hydrated(page);
  await page.evaluate(() => ((window as any).__sameDocument = true));
  await submitSignIn(page);
  await expect(page).toHaveURL(/\/home$/);

  // A link, a form that posts and redirects, and Back: all in this document.
  await page.getByRole('link', { name: 'Account' }).click();
  await expect(page).toHaveURL(/\/account$/);
  // As on a page load, focus starts afresh: on the new page's heading, which a screen reader
  // then announces.
  await expect(page.locator('main h1')).toBeFocused();
  // The demo account's greeting stays as the other tests expect it.
  await page.getByLabel('Display name').fill(DEMO.username);
  await page.getByTestId('save-account').click();
  await expect(page.getByTestId('account-saved')).toBeVisible();
  await expect(page).toHaveURL(/\/account\?saved=1$/);
  await page.goBack();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('account-saved')).toHaveCount(0);
  await expect(page.getByTestId('idle-countdown')).toBeVisible();
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);

  // The countdown of the page swapped in is live: it re-reads the server's view.
  statusReads.length = 0;
  await expect.poll(() => statusReads.length, { timeout: 5_000 }).toBeGreaterThan(0);

  await page.getByTestId('sign-out').click();
  await expect(page.getByTestId('flash')).toHaveText('You have been signed out.');
  // The countdown left with the page: no status read follows (it re-reads every 2 s).
  await page.waitForTimeout(500);
  statusReads.length = 0;
  await page.waitForTimeout(3_000);
  expect(statusReads).toEqual([]);
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
});

test('a form whose post fails is not sent again: the page stays and says so', async ({ page }) => {
  await page.goto('/sign-in');
  await hydrated(page);
  await submitSignIn(page);
  await expect(page).toHaveURL(/\/home$/);
  await page.getByRole('link', { name: 'Account' }).click();
  await expect(page).toHaveURL(/\/account$/);
  let posts = 0;
  await page.route('**/account', (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    posts += 1;
    return route.abort('connectionreset');
  });
  await page.getByLabel('Display name').fill('typed while offline');
  await page.getByTestId('save-account').click();
  await expect(page.getByTestId('not-sent')).toBeVisible();
  expect(posts).toBe(1);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByLabel('Display name')).toHaveValue('typed while offline');
});

test('a page of another release is loaded in full, with its own bundle', async ({ page }) => {
  await page.goto('/sign-in');
  await hydrated(page);
  await submitSignIn(page);
  await expect(page).toHaveURL(/\/home$/);
  // The next page, fetched in place, names another stylesheet: a new release was deployed.
  await page.route('**/sessions', async (route) => {
    if (!route.request().headers()['x-soft-navigation']) return route.continue();
    const response = await route.fetch();
    const html = (await response.text()).replace(/(<link id="leptos"[^>]*href=")[^"]*"/, '$1/pkg/next-release.css"');
    return route.fulfill({ response, body: html });
  });
  await page.evaluate(() => ((window as any).__sameDocument = true));
  await page.getByRole('link', { name: 'Sessions' }).click();
  await expect(page).toHaveURL(/\/sessions$/);
  await expect(page.getByTestId('sessions-table')).toBeVisible();
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBeUndefined();
});

test('a wrong password shows one generic message', async ({ page }) => {
  await page.goto('/sign-in');
  await hydrated(page);
  await submitSignIn(page, DEMO.username, 'wrong password');
  await expect(page.getByTestId('sign-in-error')).toHaveText('Invalid username or password.');
  await submitSignIn(page, 'nobody-here', 'wrong password');
  await expect(page.getByTestId('sign-in-error')).toHaveText('Invalid username or password.');
  await expect(page).toHaveURL(/\/sign-in\?error=1/);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the forms still sign in and out', async ({ page }) => {
    await page.goto('/home');
    await expect(page).toHaveURL(/\/sign-in\?next=%2Fhome$/);
    await submitSignIn(page);
    await expect(page).toHaveURL(/\/home$/);
    await expect(page.getByTestId('greeting')).toContainText(`Hello, ${DEMO.username}`);
    await page.getByTestId('sign-out').click();
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByTestId('flash')).toHaveText('You have been signed out.');
    await page.goBack();
    await expect(page.getByTestId('greeting')).toHaveCount(0);
  });
});

test.describe('throttled sign-in', () => {
  // Throttling counts by the typed username, existing or not: a name of its own per test, so
  // that the demo account stays usable for the others.
  for (const javaScriptEnabled of [true, false]) {
    test.describe(javaScriptEnabled ? 'hydrated' : 'without JavaScript', () => {
      test.use({ javaScriptEnabled });

      test('after five failures the page says how long to wait', async ({ page }) => {
        const name = `throttle-probe-${javaScriptEnabled ? 'js' : 'nojs'}`;
        await page.goto('/sign-in');
        if (javaScriptEnabled) await hydrated(page);
        const post = () =>
          page.waitForResponse((r) => r.url().endsWith('/sign-in') && r.request().method() === 'POST');
        for (let i = 0; i < 5; i++) {
          const answered = post();
          await submitSignIn(page, name, `guess ${i}`);
          expect((await answered).status()).toBe(303);
          await expect(page.getByTestId('sign-in-error')).toHaveText('Invalid username or password.');
        }
        const refused = post();
        await submitSignIn(page, name, 'guess 6');
        const response = await refused;
        expect(response.status()).toBe(429);
        // 15 minutes after the first failure, a few seconds ago.
        const wait = Number(response.headers()['retry-after']);
        expect(wait).toBeGreaterThan(840);
        expect(wait).toBeLessThanOrEqual(900);
        await expect(page.getByTestId('sign-in-error')).toHaveText(
          'Too many failed sign-in attempts. Please wait 15 minutes before trying again.',
        );
        // The form is there again, ready for later.
        await expect(page.getByLabel('Username')).toBeVisible();
      });
    });
  }
});
