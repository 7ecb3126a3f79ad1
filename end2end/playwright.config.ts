import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// The server under test runs from the repository root (it serves target/site) with a fresh
// SQLite database, on its own port so that a development server on :3000 does not interfere.
const port = Number(process.env.E2E_PORT ?? 3100);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auto-logout-e2e-'));
const serverBinary = process.env.E2E_SERVER_BIN ?? 'target/debug/server';
export const SHORT_IDLE_PORT = port + 1;
export const SHORT_SESSION_PORT = port + 2;
export const STAY_ON_PAGE_PORT = port + 3;
export const ADMIN_PORT = port + 4;
export const NO_LOST_WORK_PORT = port + 5;
export const REAUTH_PORT = port + 6;
/** The axum-login example (examples/axum-login), whose page uses <auto-logout-countdown>. */
export const ELEMENT_EXAMPLE_PORT = port + 10;
/** The Leptos example (examples/leptos), whose pages use the auto-logout-leptos components. */
export const LEPTOS_EXAMPLE_PORT = port + 11;
/** The password of the examples' account `example`. */
export const EXAMPLE_PASSWORD = 'example password';

function server(listen: number, env: Record<string, string>, setup = '') {
  return {
    command: `${setup}exec ${serverBinary} serve`,
    cwd: '..',
    url: `http://127.0.0.1:${listen}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe' as const,
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${listen}`,
      DATABASE_URL: `sqlite://${dataDir}/e2e-${listen}.db?mode=rwc`,
      RUST_LOG: 'warn',
      AUTO_LOGOUT_DEMO_ACCOUNT: 'true',
      ...env,
    },
  };
}

export default defineConfig({
  testDir: './tests',
  // Several tests drive four browsers, or ten pages through axe, against debug servers on a
  // 2-core machine: 20-30 s there, so the budget per test is twice that.
  timeout: 60_000,
  expect: { timeout: 5_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: process.env.CI ? [['list']] : [['list'], ['html', { open: 'never' }]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  // Nine servers: the defaults, three with short limits set through the documented keys, one
  // with an administrator `admin` and a user `alice` made by the command line, one with
  // short limits and two users `alice` and `bob` (drafts, background tabs), one like the
  // administrators' with a 3-second re-authentication window; and the axum-login and Leptos
  // examples with short limits set through the same keys.
  webServer: [
    server(port, {}),
    server(SHORT_IDLE_PORT, {
      AUTO_LOGOUT_IDLE_TIME: '4s',
      AUTO_LOGOUT_WARN_BEFORE: '2s',
    }),
    server(STAY_ON_PAGE_PORT, {
      AUTO_LOGOUT_IDLE_TIME: '3s',
      AUTO_LOGOUT_WARN_BEFORE: '1s',
      AUTO_LOGOUT_REDIRECT_TO_LOGIN_IMMEDIATELY: 'false',
    }),
    server(SHORT_SESSION_PORT, {
      AUTO_LOGOUT_IDLE_TIME: '1h',
      AUTO_LOGOUT_SESSION_TIME: '8s',
      AUTO_LOGOUT_WARN_BEFORE: '4s',
    }),
    server(
      ADMIN_PORT,
      { AUTO_LOGOUT_DEMO_ACCOUNT: 'false', AUTO_LOGOUT_LOGIN_MAX_FAILURES: '20' },
      `printf 'admin password\\n' | ${serverBinary} user add admin --admin >/dev/null && ` +
        `printf 'alice password\\n' | ${serverBinary} user add alice >/dev/null && `,
    ),
    server(
      NO_LOST_WORK_PORT,
      {
        AUTO_LOGOUT_DEMO_ACCOUNT: 'false',
        AUTO_LOGOUT_IDLE_TIME: '6s',
        AUTO_LOGOUT_WARN_BEFORE: '4s',
        AUTO_LOGOUT_LOGIN_MAX_FAILURES: '20',
      },
      `printf 'alice password\\n' | ${serverBinary} user add alice >/dev/null && ` +
        `printf 'bob password\\n' | ${serverBinary} user add bob >/dev/null && `,
    ),
    server(
      REAUTH_PORT,
      {
        AUTO_LOGOUT_DEMO_ACCOUNT: 'false',
        AUTO_LOGOUT_IDLE_TIME: '1h',
        AUTO_LOGOUT_REAUTH_WINDOW: '3s',
        AUTO_LOGOUT_LOGIN_MAX_FAILURES: '20',
      },
      `printf 'admin password\\n' | ${serverBinary} user add admin --admin >/dev/null && ` +
        `printf 'alice password\\n' | ${serverBinary} user add alice >/dev/null && `,
    ),
    {
      command: 'exec target/debug/auto-logout-example',
      cwd: '..',
      url: `http://127.0.0.1:${ELEMENT_EXAMPLE_PORT}/login`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe' as const,
      env: {
        EXAMPLE_ADDR: `127.0.0.1:${ELEMENT_EXAMPLE_PORT}`,
        DATABASE_URL: `sqlite://${dataDir}/example-${ELEMENT_EXAMPLE_PORT}.db?mode=rwc`,
        EXAMPLE_PASSWORD,
        AUTO_LOGOUT_IDLE_TIME: '6s',
        AUTO_LOGOUT_WARN_BEFORE: '3s',
      },
    },
    {
      command: 'exec target/debug/auto-logout-example-leptos',
      cwd: '..',
      url: `http://127.0.0.1:${LEPTOS_EXAMPLE_PORT}/`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe' as const,
      env: {
        EXAMPLE_ADDR: `127.0.0.1:${LEPTOS_EXAMPLE_PORT}`,
        LEPTOS_SITE_ROOT: 'target/example-leptos',
        LEPTOS_OUTPUT_NAME: 'auto-logout-example-leptos',
        DATABASE_URL: `sqlite://${dataDir}/example-${LEPTOS_EXAMPLE_PORT}.db?mode=rwc`,
        EXAMPLE_PASSWORD,
        AUTO_LOGOUT_IDLE_TIME: '6s',
        AUTO_LOGOUT_WARN_BEFORE: '3s',
      },
    },
  ],
});
