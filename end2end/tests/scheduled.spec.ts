import { expect, test } from '@playwright/test';
import { signInAt, startOwnServer, type OwnServer } from './helpers';

// Scheduled sign-out (SPEC §3 `sign_out_at`): a server whose only cut-off is a few seconds after
// it starts, set through the documented keys. It is started here, not with the others, because
// its cut-off must fall while this test watches.
const port = Number(process.env.E2E_PORT ?? 3100) + 7;
const base = `http://127.0.0.1:${port}`;
/** How long after the server starts everyone is signed out. */
const CUT_OFF_AFTER_MS = 20_000;

let server: OwnServer | undefined;

/** `HH:MM:SS` in UTC of `ms`, rounded up to the next whole second. */
function utcTimeOfDay(ms: number): string {
  const d = new Date(Math.ceil(ms / 1000) * 1000);
  return [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

test.beforeAll(async () => {
  server = await startOwnServer(port, {
    AUTO_LOGOUT_SIGN_OUT_AT: utcTimeOfDay(Date.now() + CUT_OFF_AFTER_MS),
    AUTO_LOGOUT_TIMEZONE: 'UTC',
    AUTO_LOGOUT_WARN_BEFORE: '6s',
  });
});

test.afterAll(() => {
  server?.stop();
});

test('everyone is signed out at the scheduled cut-off, and the page says so before and after', async ({ page }) => {
  await signInAt(page, base);
  // Told how long it has: the session's clock counts to the cut-off, not to session_time (1h).
  const clock = page.getByTestId('session-countdown');
  await expect(page.locator('.limit', { has: clock })).toContainText('Scheduled sign-out in');
  const seconds = Number(await clock.getAttribute('data-seconds'));
  expect(seconds).toBeGreaterThan(0);
  expect(seconds).toBeLessThanOrEqual(CUT_OFF_AFTER_MS / 1000 + 1);

  // The warning cannot be waved away: staying signed in does not move a cut-off.
  const warning = page.getByTestId('expiry-warning');
  await expect(warning).toBeVisible({ timeout: CUT_OFF_AFTER_MS });
  await expect(warning).toContainText('set time of day');
  await expect(page.getByTestId('stay-signed-in')).toHaveCount(0);

  await page.waitForURL(/\/sign-in\?next=%2Fhome&reason=scheduled_sign_out$/, { timeout: 10_000 });
  await expect(page.getByTestId('expiry-message')).toContainText('set time of day');
  // The server agrees: the session is over, not just the page.
  await page.goto(`${base}/home`);
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fhome/);
});
