import { expect, test, type Page, type Response } from '@playwright/test';
import { hydrated, secondsOf, submitSignIn } from './helpers';

// Under the pages' Content-Security-Policy (nonce for inline scripts, no 'unsafe-inline',
// 'wasm-unsafe-eval' for the WebAssembly), the islands hydrate, the countdown ticks and soft
// navigation works, with no violation reported by the browser.

/** Collects every CSP violation the page's documents report, and the console's words on it. */
function watchViolations(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (message) => {
    if (/content security policy/i.test(message.text())) seen.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => seen.push(`page error: ${error.message}`));
  return seen;
}

/** The violations recorded in the current document by the init script. */
async function documentViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as any).__cspViolations ?? []);
}

/** Checks the document answer's policy; returns its nonce. */
function pagePolicy(response: Response | null): string {
  expect(response, 'a document answer').not.toBeNull();
  const headers = response!.headers();
  const policy = headers['content-security-policy'];
  expect(policy, 'a Content-Security-Policy').toBeTruthy();
  expect(policy).toContain("frame-ancestors 'none'");
  const scripts = policy.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src '))!;
  expect(scripts).not.toContain('unsafe-inline');
  expect(scripts).toContain("'wasm-unsafe-eval'");
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('same-origin');
  const nonce = scripts.match(/'nonce-([^']+)'/);
  expect(nonce, `a nonce in ${policy}`).not.toBeNull();
  return nonce![1];
}

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => {
    (window as any).__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as any).__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
    });
  });
});

test('sign in, countdown and soft navigation work under the CSP without a violation', async ({ page }) => {
  const violations = watchViolations(page);
  const signIn = await page.goto('/sign-in');
  pagePolicy(signIn);
  await hydrated(page);
  await page.evaluate(() => ((window as any).__sameDocument = true));

  await submitSignIn(page);
  await expect(page).toHaveURL(/\/home$/);
  await hydrated(page);
  expect(await page.evaluate(() => (window as any).__sameDocument), 'signed in in place').toBe(true);

  // The countdown island ticks, and its bar (SVG, no inline style) shows the idle time left.
  const first = await secondsOf(page, 'session-countdown');
  await expect.poll(() => secondsOf(page, 'session-countdown'), { timeout: 5_000 }).toBeLessThan(first);
  await expect(page.getByTestId('idle-progress')).toBeVisible();
  expect(Number(await page.getByTestId('idle-progress').getAttribute('data-percent'))).toBeGreaterThan(0);

  // Links swap pages in place; the new pages' islands are hydrated (their countdown ticks).
  for (const [name, path] of [
    ['Sessions', /\/sessions$/],
    ['Account', /\/account$/],
    ['Home', /\/home$/],
  ] as const) {
    await page.getByRole('link', { name, exact: true }).click();
    await expect(page).toHaveURL(path);
    const before = await secondsOf(page, 'session-countdown');
    await expect
      .poll(() => secondsOf(page, 'session-countdown'), { timeout: 5_000, message: `${name} ticks` })
      .toBeLessThan(before);
  }
  expect(await page.evaluate(() => (window as any).__sameDocument), 'every page swapped in place').toBe(true);
  expect(await documentViolations(page)).toEqual([]);

  // A full load of a signed-in page and of the not-found page: each with its own nonce.
  const home = await page.goto('/home');
  const homeNonce = pagePolicy(home);
  await hydrated(page);
  const before = await secondsOf(page, 'session-countdown');
  await expect.poll(() => secondsOf(page, 'session-countdown'), { timeout: 5_000 }).toBeLessThan(before);
  expect(await documentViolations(page)).toEqual([]);
  const missing = await page.goto('/no-such-page');
  expect(missing!.status()).toBe(404);
  expect(pagePolicy(missing)).not.toBe(homeNonce);
  await hydrated(page);
  expect(await documentViolations(page)).toEqual([]);

  expect(violations).toEqual([]);
});
