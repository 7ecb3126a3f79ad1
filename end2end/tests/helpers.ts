import { expect, type Page } from '@playwright/test';

/** The demo account the server creates on first start (see README). */
export const DEMO = { username: 'demo', password: 'auto-logout-demo' };

/** Waits until the WebAssembly app has hydrated the page (it marks <body>). */
export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 15_000 });
}

/** Fills in and submits the sign-in form on the current page. */
export async function submitSignIn(page: Page, username = DEMO.username, password = DEMO.password) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByTestId('sign-in-submit').click();
}

const basePort = Number(process.env.E2E_PORT ?? 3100);
/** A server with AUTO_LOGOUT_IDLE_TIME=4s and AUTO_LOGOUT_WARN_BEFORE=2s. */
export const SHORT_IDLE = `http://127.0.0.1:${basePort + 1}`;
/** A server with AUTO_LOGOUT_SESSION_TIME=8s (idle 1h) and AUTO_LOGOUT_WARN_BEFORE=4s. */
export const SHORT_SESSION = `http://127.0.0.1:${basePort + 2}`;

/** A server with a 3-second idle limit and AUTO_LOGOUT_REDIRECT_TO_LOGIN_IMMEDIATELY=false. */
export const STAY_ON_PAGE = `http://127.0.0.1:${basePort + 3}`;

/** Signs in on the server at `base` and waits for the hydrated /home page. */
export async function signInAt(page: Page, base: string) {
  await page.goto(`${base}/sign-in`);
  await hydrated(page);
  await submitSignIn(page);
  await expect(page).toHaveURL(`${base}/home`);
  await expect(page.getByTestId('idle-countdown').or(page.getByTestId('session-countdown')).first()).toBeVisible();
}

/** The `data-seconds` of a countdown. */
export async function secondsOf(page: Page, testId: string): Promise<number> {
  return Number(await page.getByTestId(testId).getAttribute('data-seconds'));
}

/** GET `url` from inside the page (same cookies and user agent as the page itself). */
export async function apiGet(page: Page, url: string): Promise<{ status: number; body: any; text: string }> {
  return page.evaluate(async (u) => {
    const r = await fetch(u, { credentials: 'same-origin' });
    const text = await r.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: r.status, body, text };
  }, url);
}

/** A server with an administrator `admin` and a user `alice` (passwords below), no demo. */
export const ADMIN_SERVER = `http://127.0.0.1:${basePort + 4}`;
export const ADMIN = { username: 'admin', password: 'admin password' };
export const ALICE = { username: 'alice', password: 'alice password' };

/** A server with AUTO_LOGOUT_IDLE_TIME=6s, AUTO_LOGOUT_WARN_BEFORE=4s and users `alice`, `bob`. */
export const NO_LOST_WORK = `http://127.0.0.1:${basePort + 5}`;
export const BOB = { username: 'bob', password: 'bob password' };

/** A server like ADMIN_SERVER (users `admin`, `alice`) with AUTO_LOGOUT_REAUTH_WINDOW=3s. */
export const REAUTH_SERVER = `http://127.0.0.1:${basePort + 6}`;
/** Just past REAUTH_SERVER's re-authentication window. */
export const PAST_REAUTH_WINDOW_MS = 3_500;

/** The names of the draft records in the page's localStorage. */
export async function draftKeys(page: Page): Promise<string[]> {
  return page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('auto-logout.draft.')));
}

/** Everything in the page's localStorage and sessionStorage, names and values, as one string. */
export async function browserStorage(page: Page): Promise<string> {
  return page.evaluate(() => {
    const dump = (s: Storage) => Object.keys(s).map((k) => `${k}=${s.getItem(k)}`).join('\n');
    return `${dump(localStorage)}\n${dump(sessionStorage)}`;
  });
}

/** Makes the page report itself hidden, as a background tab does. */
export async function hideTab(page: Page) {
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
}

/** Signs `who` in at `base` on `page` and waits for the hydrated /home page. */
export async function signInAs(page: Page, base: string, who: { username: string; password: string }) {
  await page.goto(`${base}/sign-in`);
  await hydrated(page);
  await submitSignIn(page, who.username, who.password);
  await expect(page).toHaveURL(`${base}/home`);
  await hydrated(page);
}

/** A server of our own for one spec file, for settings the shared servers must not have. */
export interface OwnServer {
  base: string;
  stop: () => void;
}

/**
 * Starts `target/debug/server` on `port` with a fresh SQLite database, the demo account and
 * `env` (documented configuration keys), and waits until it answers.
 */
export async function startOwnServer(port: number, env: Record<string, string>): Promise<OwnServer> {
  const { spawn } = await import('node:child_process');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auto-logout-own-'));
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(process.env.E2E_SERVER_BIN ?? 'target/debug/server', ['serve'], {
    cwd: path.resolve(__dirname, '../..'),
    stdio: 'ignore',
    env: {
      ...process.env,
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      DATABASE_URL: `sqlite://${dataDir}/own.db?mode=rwc`,
      RUST_LOG: 'warn',
      AUTO_LOGOUT_DEMO_ACCOUNT: 'true',
      ...env,
    },
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return { base, stop: () => server.kill() };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  server.kill();
  throw new Error(`the server on port ${port} did not start`);
}
