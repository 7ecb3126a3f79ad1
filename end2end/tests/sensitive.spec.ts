import { expect, test, type Browser, type Page } from '@playwright/test';
import { ADMIN, ALICE, PAST_REAUTH_WINDOW_MS, REAUTH_SERVER, hydrated, signInAs } from './helpers';

// Sensitive actions (SPEC §4): outside `reauth_window` (3 s on this server) the page asks for the
// password in place, over the form as it was typed, and then performs the action.
const base = REAUTH_SERVER;

test.describe.configure({ mode: 'serial' });

async function newPage(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

test('a sensitive form asks for the password in place, keeps what was typed, then saves it', async ({ browser }) => {
  const page = await newPage(browser);
  await signInAs(page, base, ALICE);
  await page.goto(`${base}/account`);
  await hydrated(page);
  await page.getByLabel('Display name').fill('Alice Liddell');
  await page.getByLabel('Email').fill('alice@wonderland.example');
  // The password was proved at sign-in; let the window close.
  await page.waitForTimeout(PAST_REAUTH_WINDOW_MS);
  await page.getByRole('button', { name: 'Save' }).click();

  const prompt = page.locator('dialog[open] [data-testid=reauth]');
  await expect(prompt).toBeVisible();
  // In place: the page under it is the account page, with what was typed.
  await expect(page).toHaveURL(`${base}/account`);
  await expect(page.getByLabel('Email')).toHaveValue('alice@wonderland.example');
  await expect(page.getByLabel('Display name')).toHaveValue('Alice Liddell');

  // A wrong password: the prompt stays and says so; nothing is saved.
  const password = prompt.locator('input[type=password]');
  await expect(password).toBeFocused();
  await password.fill('not her password');
  await prompt.getByRole('button', { name: 'Confirm' }).click();
  await expect(prompt.getByTestId('reauth-error')).toHaveText('That password is not right.');
  await expect(page.getByLabel('Email')).toHaveValue('alice@wonderland.example');

  // Cancel leaves the form as it was; sending it again asks again.
  await prompt.getByRole('link', { name: 'Cancel' }).click();
  await expect(page.locator('dialog[open]')).toHaveCount(0);
  await expect(page.getByLabel('Email')).toHaveValue('alice@wonderland.example');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(prompt).toBeVisible();

  await prompt.locator('input[type=password]').fill(ALICE.password);
  await prompt.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('account-saved')).toBeVisible();
  await expect(page.getByLabel('Email')).toHaveValue('alice@wonderland.example');
  await expect(page.getByLabel('Display name')).toHaveValue('Alice Liddell');
  await expect(page.locator('dialog[open]')).toHaveCount(0);
});

test('without JavaScript the prompt is a page that performs the action', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${base}/sign-in`);
  await page.getByLabel('Username').fill(ALICE.username);
  await page.getByLabel('Password').fill(ALICE.password);
  await page.getByTestId('sign-in-submit').click();
  await expect(page).toHaveURL(`${base}/home`);
  await page.goto(`${base}/account`);
  await page.getByLabel('Email').fill('alice@looking-glass.example');
  await page.waitForTimeout(PAST_REAUTH_WINDOW_MS);
  await page.getByRole('button', { name: 'Save' }).click();
  const prompt = page.getByTestId('reauth');
  await expect(prompt).toBeVisible();
  await prompt.locator('input[type=password]').fill(ALICE.password);
  await prompt.getByRole('button', { name: 'Confirm' }).click();
  await expect(page).toHaveURL(`${base}/account?saved=1`);
  await expect(page.getByLabel('Email')).toHaveValue('alice@looking-glass.example');
});

test('signing out everyone reaches every open tab but the administrator’s', async ({ browser }) => {
  const laptop = await newPage(browser);
  await signInAs(laptop, base, ALICE);
  const phone = await newPage(browser);
  await signInAs(phone, base, ALICE);
  const admin = await newPage(browser);
  await signInAs(admin, base, ADMIN);
  await admin.goto(`${base}/admin/sessions`);
  await hydrated(admin);
  await expect(admin.getByLabel('except me')).toBeChecked();
  await admin.waitForTimeout(PAST_REAUTH_WINDOW_MS);
  await admin.getByTestId('sign-out-all').click();
  // An administrator action: the password again, in place.
  const prompt = admin.locator('dialog[open] [data-testid=reauth]');
  await prompt.locator('input[type=password]').fill(ADMIN.password);
  await prompt.getByRole('button', { name: 'Confirm' }).click();
  const endedAt = Date.now();
  // Both tabs, and whatever earlier tests left signed in on this server.
  await expect(admin.getByTestId('signed-out-everyone')).toHaveText(/^Signed out everyone: \d+ sessions ended\.$/);
  for (const tab of [laptop, phone]) {
    await tab.waitForURL(/\/sign-in\?next=%2Fhome&reason=revoked$/, { timeout: 5_000 });
  }
  console.log(`"sign out everyone" reached both tabs after ${Date.now() - endedAt} ms`);
  // The administrator stays signed in.
  await admin.goto(`${base}/admin/sessions`);
  await expect(admin).toHaveURL(`${base}/admin/sessions`);
});
