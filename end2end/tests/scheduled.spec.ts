import { expect, test } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { signInAt } from './helpers';

// Scheduled sign-out (SPEC §3 `sign_out_at`): a server whose only cut-off is a few seconds after
// it starts, set through the documented keys. It is started here, not with the others, because
// its cut-off must fall while this test watches.
const port = Number(process.env.E2E_PORT ?? 3100) + 7;
const base = `http://127.0.0.1:${port}`;
const serverBinary = process.env.E2E_SERVER_BIN ?? 'target/debug/server';
/** How long after the server starts everyone is signed out. */
const CUT_OFF_AFTER_MS = 20_000;

let server: ChildProcess | undefined;

/** `HH:MM:SS` in UTC of `ms`, rounded up to the next whole second. */
function utcTimeOfDay(ms: number): string {
  const d = new Date(Math.ceil(ms / 1000) * 1000);
  return [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

test.beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auto-logout-scheduled-'));
  server = spawn(serverBinary, ['serve'], {
    cwd: path.resolve(__dirname, '../..'),
    stdio: 'ignore',
    env: {
      ...process.env,
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      DATABASE_URL: `sqlite://${dataDir}/scheduled.db?mode=rwc`,
      RUST_LOG: 'warn',
      AUTO_LOGOUT_DEMO_ACCOUNT: 'true',
      AUTO_LOGOUT_SIGN_OUT_AT: utcTimeOfDay(Date.now() + CUT_OFF_AFTER_MS),
      AUTO_LOGOUT_TIMEZONE: 'UTC',
      AUTO_LOGOUT_WARN_BEFORE: '6s',
    },
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the scheduled-sign-out server did not start');
});

test.afterAll(() => {
  server?.kill();
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
