// Drives headless Debian Chromium through the web UI; see .ci/browser-test.
'use strict';
const { chromium } = require('playwright-core');
const fs = require('fs');

const base = process.env.BASE_URL;
const token = process.env.NUMINV_BROWSER_TOKEN;
const expected = JSON.parse(fs.readFileSync(process.env.EXPECTED, 'utf8'));

function fail(msg) {
  console.error(`browser-test: FAIL: ${msg}`);
  process.exit(1);
}

(async () => {
  if (expected.length === 0) fail('the prepared data dir has no Cooling numbers');
  const context = await chromium.launchPersistentContext(process.env.PROFILE_DIR, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1280, height: 800 },
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(30000);

    // Sign in through the form, as a person would; the answer sets the session cookie.
    await page.goto(`${base}/login`);
    await page.fill('input[name=token]', token);
    await Promise.all([page.waitForURL(`${base}/numbers`), page.click('button[type=submit]')]);

    // The inventory filtered to Cooling, through the filter form.
    await page.selectOption('select[name=status]', 'Cooling');
    await Promise.all([page.waitForURL(/status=Cooling/), page.click('form.filters button[type=submit]')]);
    const rows = await page.$$eval('main table tbody tr', (trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.innerText.trim())));
    const text = await page.innerText('main table');
    for (const e of expected) {
      const row = rows.find((r) => r[0] === e.number);
      if (!row) fail(`${e.number} is not listed under Cooling:\n${text}`);
      if (!row.some((c) => c.includes('Cooling'))) fail(`${e.number} does not show Cooling: ${row}`);
      if (!row.some((c) => c.includes(e.release_date))) {
        fail(`${e.number} does not show its release date ${e.release_date}: ${row}`);
      }
    }
    if (rows.length !== expected.length) {
      fail(`${rows.length} rows under Cooling, ${expected.length} expected:\n${text}`);
    }
    await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });

    // The other pages of the navigation open.
    for (const [link, heading] of [['Connections', 'Connections'], ['Audit', 'Audit'], ['Transactions', 'Transactions']]) {
      await Promise.all([page.waitForLoadState(), page.click(`header a:text-is("${link}")`)]);
      const h1 = await page.innerText('main h1');
      if (h1 !== heading) fail(`the ${link} link opened "${h1}"`);
    }
    console.log(`browser-test: ok: ${expected.length} cooling numbers with their release dates; screenshot ${process.env.SCREENSHOT}`);
  } finally {
    await context.close();
  }
})().catch((e) => fail(e.stack || String(e)));
