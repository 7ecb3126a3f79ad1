import { expect, test } from '@playwright/test';
import { SHORT_IDLE, SHORT_SESSION, STAY_ON_PAGE, apiGet, hydrated, secondsOf, signInAt, submitSignIn } from './helpers';

test('the server-rendered HTML already holds both countdowns', async ({ page }) => {
  await page.goto('/sign-in');
  await submitSignIn(page);
  await expect(page).toHaveURL(/\/home$/);
  const html = (await apiGet(page, '/home')).text;
  const idle = html.match(/data-testid="idle-countdown" data-seconds="(\d+)"/);
  const session = html.match(/data-testid="session-countdown" data-seconds="(\d+)"/);
  expect(idle, 'idle countdown in SSR HTML').not.toBeNull();
  expect(session, 'session countdown in SSR HTML').not.toBeNull();
  expect(Number(idle![1])).toBe(600); // the page request itself was activity
  expect(Number(session![1])).toBeGreaterThan(3500);
  expect(Number(session![1])).toBeLessThanOrEqual(3600);
});

test('the countdown ticks down every second after hydration', async ({ page }) => {
  await signInAt(page, '');
  const first = await secondsOf(page, 'session-countdown');
  await page.waitForTimeout(2_300);
  const later = await secondsOf(page, 'session-countdown');
  expect(first - later).toBeGreaterThanOrEqual(2);
  expect(first - later).toBeLessThanOrEqual(3);
});

test('at zero the page goes to sign-in with reason=idle at once and shows the message', async ({ page }) => {
  await signInAt(page, SHORT_IDLE);
  // In the page: note when the idle countdown turns to 1 (one second before the deadline, to
  // within one tick), in sessionStorage so that the sign-in page can read it.
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid=idle-countdown]')!;
    new MutationObserver(() => {
      if (el.getAttribute('data-seconds') === '1' && !sessionStorage.getItem('oneLeftAt')) {
        sessionStorage.setItem('oneLeftAt', String(Date.now()));
      }
    }).observe(el, { attributes: true });
  });
  await page.waitForURL(/\/sign-in\?next=%2Fhome&reason=idle$/, { timeout: 8_000 });
  // The sign-in document's navigation started when the countdown page left.
  const delay = await page.evaluate(
    () => performance.timeOrigin - (Number(sessionStorage.getItem('oneLeftAt')) + 1_000),
  );
  console.log(`redirect delay after zero: ${Math.round(delay)} ms`);
  expect(delay).toBeGreaterThan(-250);
  expect(delay).toBeLessThan(1_000);
  await expect(page.getByTestId('expiry-message')).toHaveText(
    'The session has expired. Please login again to continue.',
  );
  // The server agrees: the session is over.
  expect((await apiGet(page, `${SHORT_IDLE}/api/v1/session`)).status).toBe(401);
});

test('"Stay signed in" resets the idle countdown, and the server agrees', async ({ page }) => {
  await signInAt(page, SHORT_IDLE);
  const warning = page.getByTestId('expiry-warning');
  await expect(warning).toBeVisible({ timeout: 5_000 });
  await expect(warning).toHaveAttribute('role', 'alertdialog');
  // Keyboard usable: the button has focus, Enter presses it.
  await expect(page.getByTestId('stay-signed-in')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(warning).toBeHidden();
  expect(await secondsOf(page, 'idle-countdown')).toBeGreaterThanOrEqual(3);
  const { body } = await apiGet(page, `${SHORT_IDLE}/api/v1/session`);
  expect(body.seconds_until_idle_end).toBeGreaterThanOrEqual(3);
});

test('the warning\'s "Sign out" works with a mouse: pressing it is not activity that closes the warning first', async ({ page }) => {
  await signInAt(page, SHORT_IDLE);
  const warning = page.getByTestId('expiry-warning');
  await expect(warning).toBeVisible({ timeout: 5_000 });
  // A person's click: the button is held down for a moment before it is released.
  await page.getByTestId('warning-sign-out').click({ delay: 300 });
  await expect(page).toHaveURL(`${SHORT_IDLE}/`);
  const { status } = await apiGet(page, `${SHORT_IDLE}/api/v1/session`);
  expect(status).toBe(401);
});

test('before the absolute limit the warning says so and offers no "Stay signed in"', async ({ page }) => {
  await signInAt(page, SHORT_SESSION);
  const warning = page.getByTestId('expiry-warning');
  await expect(warning).toBeVisible({ timeout: 6_000 });
  await expect(warning).toContainText('time limit');
  await expect(page.getByTestId('stay-signed-in')).toHaveCount(0);
  await page.waitForURL(/\/sign-in\?next=%2Fhome&reason=expired$/, { timeout: 8_000 });
});

test('the warning is announced to screen readers once, not every second', async ({ page }) => {
  await signInAt(page, SHORT_SESSION);
  const warning = page.getByTestId('expiry-warning');
  await expect(warning).toBeVisible({ timeout: 6_000 });
  await expect(warning).toHaveAttribute('aria-describedby', 'expiry-text');
  const announced = await page.locator('#expiry-text').textContent();
  const clock = await page.getByTestId('expiry-clock').textContent();
  expect(announced).toContain('time limit');
  // The visible text ticks, the announced one stays; nothing in the dialog is a live region.
  await expect(page.getByTestId('expiry-clock')).not.toHaveText(clock!, { timeout: 3_000 });
  expect(await page.locator('#expiry-text').textContent()).toBe(announced);
  await expect(page.getByTestId('expiry-clock')).toHaveAttribute('aria-hidden', 'true');
  await expect(warning.locator('[aria-live]')).toHaveCount(0);
});

test('two tabs: activity in one resets the other; signing out in one sends both to sign-in', async ({ context }) => {
  const a = await context.newPage();
  await signInAt(a, SHORT_IDLE);
  const b = await context.newPage();
  await b.goto(`${SHORT_IDLE}/home`);
  await hydrated(b);
  await expect(b.getByTestId('expiry-warning')).toBeVisible({ timeout: 5_000 });
  await expect(a.getByTestId('expiry-warning')).toBeVisible({ timeout: 5_000 });
  await a.getByTestId('stay-signed-in').click();
  // Tab B hears of it and its warning goes away with a fresh idle countdown.
  await expect(b.getByTestId('expiry-warning')).toBeHidden({ timeout: 1_000 });
  expect(await secondsOf(b, 'idle-countdown')).toBeGreaterThanOrEqual(3);

  await a.getByTestId('sign-out').click();
  await expect(a).toHaveURL(`${SHORT_IDLE}/`);
  const signedOutAt = Date.now();
  await b.waitForURL(/\/sign-in/, { timeout: 1_000 });
  console.log(`second tab reached sign-in ${Date.now() - signedOutAt} ms after the sign-out`);
});

test('a sleeping laptop or throttled tab ends in a redirect, not a stale countdown', async ({ page }) => {
  await page.clock.install();
  await signInAt(page, SHORT_IDLE);
  // Freeze the page's timers (as in a throttled background tab) while real time passes the
  // 4-second idle limit; the countdown cannot tick meanwhile.
  await page.clock.pauseAt(Date.now() + 500);
  await page.waitForTimeout(5_000);
  await expect(page).toHaveURL(`${SHORT_IDLE}/home`);
  // When the timers run again, the first tick compares against the deadline and leaves.
  await page.clock.fastForward(5_000);
  await page.waitForURL(/\/sign-in\?next=%2Fhome&reason=idle$/, { timeout: 3_000 });
});

test('with redirect_to_login_immediately off, the page stays and offers to sign in again', async ({ page }) => {
  await signInAt(page, STAY_ON_PAGE);
  const ended = page.getByTestId('session-ended');
  await expect(ended).toBeVisible({ timeout: 6_000 });
  await page.waitForTimeout(1_000);
  await expect(page).toHaveURL(`${STAY_ON_PAGE}/home`);
  const link = ended.getByRole('link', { name: 'Sign in again' });
  await expect(link).toHaveAttribute('href', '/sign-in?next=%2Fhome&reason=idle');
  await link.click();
  await expect(page.getByTestId('expiry-message')).toBeVisible();
});
