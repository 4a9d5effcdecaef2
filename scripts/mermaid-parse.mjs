// Parses Mermaid files with Mermaid's own parser (the one GitHub's renderer runs),
// in Node with jsdom standing in for the browser: no layout, so no browser needed.
// Usage: node mermaid-parse.mjs FILE...   (exit 1 if any file fails to parse)
import { JSDOM } from 'jsdom';
import fs from 'node:fs';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    const result = await mermaid.parse(fs.readFileSync(file, 'utf8'));
    console.log(`ok    ${file} (${result.diagramType})`);
  } catch (err) {
    failed++;
    console.log(`FAIL  ${file}: ${err.message}`);
  }
}
console.log(`${process.argv.length - 2 - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
