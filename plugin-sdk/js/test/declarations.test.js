import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plugin, tool, resource, resourceTemplate, prompt, onEvent, completion, needs, icon } from '../src/index.js';
import * as t from '../src/testing.js';

const run = () => 'x';

test('invalid declarations throw naming the problem', () => {
  assert.throws(() => tool({ name: 'bad name', description: 'd', run }), /tool name `bad name`: contains ` `/);
  assert.throws(() => tool({ name: 'x'.repeat(65), description: 'd', run }), /must be 1 to 64 characters/);
  assert.throws(() => tool({ name: 'nodesc', run }), /tool `nodesc`: needs a `description`/);
  assert.throws(() => tool({ name: 'norun', description: 'd' }), /needs a `run/);
  assert.throws(() => tool({ name: 'arr', description: 'd', input: { type: 'array' }, run }), /`input` must have `"type": "object"`, got "array"/);
  assert.throws(() => tool({ name: 'ann', description: 'd', annotations: { readonly: true }, run }), /unknown annotation `readonly`/);
  assert.throws(() => resource({ uri: 'nouri', name: 'n', read: run }), /needs an absolute `uri`/);
  assert.throws(() => resourceTemplate({ uriTemplate: 'x://{a', name: 'n', read: run }), /has a `\{` without `\}`/);
  assert.throws(() => prompt({ name: 'p q', get: run }), /prompt name `p q`/);
  assert.throws(() => onEvent(['tool-call'], run), /unknown event kind `tool-call`/);
  assert.throws(() => completion({ complete: run }), /exactly one of `prompt` or `template`/);
  assert.throws(() => plugin({ name: 'way-too-long-plugin-name-for-berth-x' }), /must be 1 to 32 characters/);
  assert.throws(() => icon({ tool: 'x' }, 'http://insecure/x.png'), /must be an https: URL or a data: URI/);
  tool({ name: 'dup', description: 'd', run });
  assert.throws(() => tool({ name: 'dup', description: 'd', run }), /tool `dup`: is declared twice/);
});

test('plugin-level problems are reported by validate', () => {
  completion({ prompt: 'nope', complete: () => [] });
  plugin({ name: 'p' });
  assert.throws(() => t.validate(), /completion for prompt `nope`: no such prompt/);
});

test('needs and icons', () => {
  needs({ folders: [{ path: '/work', write: true, reason: 'edits files' }], env: ['TOKEN'], network: ['https://api.example.com'] });
  assert.deepEqual(t.needs(), { folders: [{ path: '/work', write: true, reason: 'edits files' }], env: ['TOKEN'], network: ['https://api.example.com'] });
  icon({ tool: 'dup' }, ['https://x.test/i.svg', { src: 'data:image/png;base64,AAAA', sizes: '48x48', theme: 'dark' }]);
  assert.deepEqual(t.icons(), [
    [
      { tag: 'tool', val: 'dup' },
      [
        { src: 'https://x.test/i.svg', mimeType: 'image/svg+xml', sizes: ['any'], theme: undefined },
        { src: 'data:image/png;base64,AAAA', mimeType: 'image/png', sizes: ['48x48'], theme: 'dark' },
      ],
    ],
  ]);
});
