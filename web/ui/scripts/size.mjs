// npm run size: the gzip size of what the first page loads (index.html and
// the JS and CSS it references), checked against the budget in issue 5:
// under 200 KB of compressed JavaScript for the first page.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '../../../internal/web/dist');
const budgetJS = 200 * 1024;

const html = readFileSync(resolve(dist, 'index.html'), 'utf8');
const refs = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
let js = 0;
let total = gzipSync(html, { level: 9 }).length;
for (const ref of refs) {
  const gz = gzipSync(readFileSync(resolve(dist, ref)), { level: 9 }).length;
  total += gz;
  if (ref.endsWith('.js')) js += gz;
  console.log(`${ref.padEnd(40)} ${(gz / 1024).toFixed(1)} KB gzip`);
}
console.log(`first page: ${(js / 1024).toFixed(1)} KB of JavaScript, ${(total / 1024).toFixed(1)} KB in all (gzip)`);
if (js > budgetJS) {
  console.error(`over budget: the first page's JavaScript must stay under ${budgetJS / 1024} KB gzip`);
  process.exit(1);
}
