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
