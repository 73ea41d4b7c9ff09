#!/usr/bin/env node
// Checks that a tokenizer.json written by Kindling gives, in Hugging Face's own tokenizers library (Rust, through
// the npm package @anush008/tokenizers), the same ids and the same decoded text as Kindling.
//   node tools/gpt2/check_hf.js TOKENIZER_JSON SAMPLES_JSON
// SAMPLES_JSON is {"samples": [{"text": ..., "ids": [...]}]} with Kindling's ids. Install the package outside the
// repository and point NODE_PATH at it:
//   dir=$(mktemp -d) && (cd "$dir" && npm install @anush008/tokenizers@0.6.0)
//   NODE_PATH="$dir/node_modules" node tools/gpt2/check_hf.js tokenizer.json samples.json
'use strict';
const fs = require('fs');
const { Tokenizer } = require('@anush008/tokenizers');

async function main() {
  const [file, samplesFile] = process.argv.slice(2);
  const tok = Tokenizer.fromFile(file);
  const { samples } = JSON.parse(fs.readFileSync(samplesFile, 'utf8'));
  let failed = 0;
  for (const { text, ids } of samples) {
    const enc = await tok.encode(text, null, { addSpecialTokens: false });
    const got = Array.from(enc.getIds());
    const decoded = await tok.decode(ids, false);
    if (JSON.stringify(got) !== JSON.stringify(ids) || decoded !== text) {
      failed++;
      console.log('MISMATCH ' + JSON.stringify(text).slice(0, 120));
      console.log('  kindling ' + JSON.stringify(ids).slice(0, 200));
      console.log('  hf       ' + JSON.stringify(got).slice(0, 200));
      console.log('  decoded  ' + JSON.stringify(decoded).slice(0, 120));
    }
  }
  console.log(`${samples.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
main().catch(e => { console.error(e); process.exit(2); });
