import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from './e2e/support/chromium';
import type { ServerMode } from './e2e/support/app-server';

/**
 * Browser tests in Debian's Chromium (Playwright's own browser download is never used), against
 * the production build and against the development server. Each project starts its own server
 * (see e2e/support/fixtures.ts); one worker, since the servers and the browser share two cores.
 */
export default defineConfig<{ mode: ServerMode }>({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    browserName: 'chromium',
    launchOptions: chromiumLaunchOptions(),
    screenshot: 'only-on-failure',
    trace: 'off',
  },
  projects: [
    { name: 'production', use: { mode: 'production' }, testIgnore: ['**/hot-reload.spec.ts', '**/server-reload.spec.ts'] },
    // Next's development server locks its folder to one process: the scale-out tests run in production only,
    // and so does the fallback's (its own server behind nginx, beside the worker's).
    { name: 'development', use: { mode: 'development' }, testIgnore: ['**/scale-out.spec.ts', '**/fallback.spec.ts'] },
  ],
});
