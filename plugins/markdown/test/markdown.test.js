// Native tests: `npm test` compiles src/index.ts to build/index.js with esbuild, then runs
// these with node --test. The SDK's testing entry drives the plugin as the host does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manifest, call, validate, CallError } from '@berth/plugin-sdk/testing';
import '../build/index.js';

const doc = `# Title

Intro with a [link](https://example.com "Example") and ![logo](img/logo.png).

## Install

\`\`\`sh
# not a heading
[not](a-link)
\`\`\`

See <https://berth.dev>.

### From source
## Use it!
Setext
------

[ref]: https://example.org/ref
`;

test('the manifest is valid', () => {
  validate();
  const m = manifest();
  assert.equal(m.name, 'markdown');
  assert.deepEqual(m.tools.map((t) => t.name), ['outline', 'links', 'toc']);
  const outline = JSON.parse(m.tools[0].inputSchema);
  assert.equal(outline.type, 'object');
  assert.deepEqual(outline.required, ['markdown']);
});

test('outline nests headings and skips code', () => {
  const r = call('outline', { markdown: doc });
  assert.equal(r.structured.count, 5);
  const [title] = r.structured.headings;
  assert.equal(title.text, 'Title');
  assert.equal(title.line, 1);
  assert.deepEqual(title.children.map((h) => [h.level, h.text, h.line, h.anchor]), [
    [2, 'Install', 5, 'install'],
    [2, 'Use it!', 15, 'use-it'],
    [2, 'Setext', 16, 'setext'],
  ]);
  assert.deepEqual(title.children[0].children.map((h) => h.text), ['From source']);
});

test('outline rejects arguments that do not fit its zod schema', () => {
  assert.throws(() => call('outline', { markdown: 3 }), (e) => e instanceof CallError && e.kind === 'invalid-arguments' && /`markdown`/.test(e.detail));
});

test('links come with their lines', () => {
  const r = call('links', { markdown: doc });
  assert.deepEqual(r.structured.links, [
    { kind: 'link', text: 'link', url: 'https://example.com', title: 'Example', line: 3 },
    { kind: 'image', text: 'logo', url: 'img/logo.png', line: 3 },
    { kind: 'autolink', text: 'https://berth.dev', url: 'https://berth.dev', line: 12 },
    { kind: 'definition', text: 'ref', url: 'https://example.org/ref', line: 19 },
  ]);
});

test('toc', () => {
  assert.equal(call('toc', { markdown: '# A\n## B' }).text, '- [A](#a)\n  - [B](#b)');
  assert.equal(
    call('toc', { markdown: doc }).text,
    ['- [Title](#title)', '  - [Install](#install)', '    - [From source](#from-source)', '  - [Use it!](#use-it)', '  - [Setext](#setext)'].join('\n'),
  );
  assert.equal(call('toc', { markdown: doc, max_depth: 2 }).text.split('\n').length, 4);
  assert.equal(call('toc', { markdown: '# A\n# A\n' }).text, '- [A](#a)\n- [A](#a-1)');
  assert.equal(call('toc', { markdown: 'no headings' }).text, '');
});
