import { expect, test, type Page } from '@playwright/test';
import { hydrated } from './helpers';

/** The bundle files the page loaded, with the bytes each took from the network (0: cache). */
async function bundleLoads(page: Page): Promise<{ name: string; transferSize: number }[]> {
  return page.evaluate(() =>
    (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
      .filter((e) => /\/pkg\/[^/]+\.(js|wasm|css)$/.test(new URL(e.name).pathname))
      .map((e) => ({ name: new URL(e.name).pathname, transferSize: e.transferSize })),
  );
}

// The client bundle is named by a hash of its content and cached for a year: a browser fetches
// it once, and a later visit starts from its cache instead of the network.
test('the bundle is fetched once per release, not once per visit', async ({ page }) => {
  const cacheControl = new Map<string, string>();
  page.on('response', async (response) => {
    const path = new URL(response.url()).pathname;
    if (path.startsWith('/pkg/')) cacheControl.set(path, (await response.allHeaders())['cache-control'] ?? '');
  });

  await page.goto('/');
  await hydrated(page);
  const first = await bundleLoads(page);
  const names = [...new Set(first.map((f) => f.name))].sort();
  expect(names).toHaveLength(3);
  for (const name of names) {
    expect(name).toMatch(/^\/pkg\/auto-logout\.[0-9a-f]{16}\.(css|js|wasm)$/);
    expect(cacheControl.get(name)).toBe('public, max-age=31536000, immutable');
  }
  for (const file of first) expect(file.transferSize).toBeGreaterThan(0);

  // Another page of the site, loaded in full: the same names, every one from the cache.
  await page.goto('/sign-in');
  await hydrated(page);
  const again = await bundleLoads(page);
  expect([...new Set(again.map((f) => f.name))].sort()).toEqual(names);
  for (const file of again) expect(file, `${file.name} came from the network again`).toMatchObject({ transferSize: 0 });
});
