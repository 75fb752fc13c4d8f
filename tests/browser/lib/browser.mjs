// Debian's chromium, headless, driven by playwright-core, with a fresh
// profile for every launch and nothing that talks to the network on its own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync', '--disable-default-apps', '--mute-audio'];

// Returns {context, close()}: a persistent context on a new user-data dir,
// removed on close.
export async function launch({ viewport = DESKTOP, downloadsPath } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'fedc-chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport, acceptDownloads: true, downloadsPath,
    locale: 'en-GB', timezoneId: 'UTC',
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Fails the test on any uncaught error or console error in the page, except
// the 401s of a signed-out page and the 400 of a task the test makes invalid.
export function watchPage(page, problems) {
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    if (/status of 40[01]/.test(text)) return; // signed out; a refused task (the test makes both)
    const where = m.location() && m.location().url ? ` (${m.location().url})` : '';
    problems.push(`console error: ${text}${where}`);
  });
}
