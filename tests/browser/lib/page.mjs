// What every browser test does with its page: screenshots (also copied to
// docs/screenshots with FEDC_UPDATE_SCREENSHOTS=1), downloads, the label
// audit, the main navigation, chart series, and a wrapper that keeps a
// picture of the page when a step fails. One PageKit per test file; set
// `kit.page` once the page exists.
import fs from 'node:fs';
import path from 'node:path';
import { OUT_DIR, SOURCE_DIR } from './fedc.mjs';

export class PageKit {
  // failurePrefix names the failure screenshots, so two test files running
  // into the same OUT_DIR do not overwrite each other's.
  constructor({ failurePrefix, downloads = path.join(OUT_DIR, 'downloads') }) {
    this.page = null;
    this.failed = false;
    this.failures = 0;
    this.failurePrefix = failurePrefix;
    this.downloads = downloads;
  }

  async shot(name) {
    const shots = path.join(OUT_DIR, 'screenshots');
    fs.mkdirSync(shots, { recursive: true });
    const file = path.join(shots, `${name}.png`);
    // Passing notices would cover part of the page.
    await this.page.evaluate(() => document.querySelectorAll('.toast').forEach((t) => t.remove()));
    await this.page.screenshot({ path: file });
    if (process.env.FEDC_UPDATE_SCREENSHOTS === '1') {
      const docs = path.join(SOURCE_DIR, 'docs', 'screenshots');
      fs.mkdirSync(docs, { recursive: true });
      fs.copyFileSync(file, path.join(docs, `${name}.png`));
    }
  }

  // Runs trigger() and saves the download it starts; returns the file.
  async download(trigger) {
    const [dl] = await Promise.all([this.page.waitForEvent('download'), trigger()]);
    fs.mkdirSync(this.downloads, { recursive: true });
    const file = path.join(this.downloads, dl.suggestedFilename());
    await dl.saveAs(file);
    return file;
  }

  // Form controls of the page without a label (none allowed).
  unlabelledControls() {
    return this.page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => el.type !== 'hidden' && !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
        && !(el.tagName === 'BUTTON' && el.textContent.trim()))
      .map((el) => el.id || el.name || el.outerHTML.slice(0, 80)));
  }

  // A link of the main navigation (pages have their own "New task" links too).
  nav(name) {
    return this.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  }

  async series(chartId) {
    return JSON.parse(await this.page.locator(`#${chartId}`).getAttribute('data-series'));
  }

  // Wraps a test step: a failure is remembered (so `after` prints the
  // processes' logs) and the page is kept as a picture.
  check(step) {
    return async (...args) => {
      try {
        await step(...args);
      } catch (e) {
        this.failed = true;
        this.failures += 1;
        if (this.page) {
          const file = path.join(OUT_DIR, `${this.failurePrefix}-${this.failures}.png`);
          await this.page.screenshot({ path: file, fullPage: true }).catch(() => {});
          console.log(`page at the failure: ${this.page.url()}, screenshot ${file}`);
        }
        throw e;
      }
    };
  }
}
