import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plugin, resource, resourceTemplate, prompt, completion, onEvent, ResourceError, ToolError, Content, resources, log } from '../src/index.js';
import * as t from '../src/testing.js';

t.logs.quiet();
plugin({ name: 'rp', version: '0.1.0' });
resource({ uri: 'notes://index', name: 'index', mimeType: 'text/markdown', read: () => '# Notes' });
resource({ uri: 'notes://bytes', name: 'bytes', read: () => new Uint8Array([1, 2, 3]) });
resource({ uri: 'notes://gone', name: 'gone', read: () => { throw ResourceError.notFound('deleted'); } });
resourceTemplate({
  uriTemplate: 'notes://notes/{name}',
  name: 'note',
  mimeType: 'text/plain',
  read: ({ name }, ctx) => {
    resources.changed(ctx.uri);
    if (name === 'boom') throw new Error('bad note');
    return `note ${name}`;
  },
});
resourceTemplate({ uriTemplate: 'files://{+path}', name: 'file', read: async ({ path }) => ({ text: path, mimeType: 'text/plain' }) });
prompt({
  name: 'summarise',
  description: 'Summarises.',
  arguments: [{ name: 'uri', description: 'What' }, { name: 'length', required: false }],
  get: ({ uri, length }) => {
    if (uri === 'bad') throw ToolError.invalidArguments('`uri` is bad');
    return [`Summarise ${uri} in ${length ?? 'one paragraph'}.`, { role: 'assistant', content: Content.text('OK') }];
  },
});
completion({ prompt: 'summarise', argument: 'length', complete: (_a, value) => ['one sentence', 'one paragraph'].filter((v) => v.startsWith(value)) });
completion({ template: 'notes://notes/{name}', complete: () => ({ values: ['a', 'b'], total: 10, hasMore: true }) });
const seen = [];
onEvent(['tool-called', 'plugin-loaded'], (e) => seen.push(e));
onEvent('config-applied', () => { throw new Error('hook failed'); });

test('resources', async () => {
  const m = t.manifest();
  assert.deepEqual(m.resources.map((r) => r.uri), ['notes://index', 'notes://bytes', 'notes://gone']);
  assert.deepEqual(m.resourceTemplates.map((r) => r.uriTemplate), ['notes://notes/{name}', 'files://{+path}']);
  assert.deepEqual(t.read('notes://index'), [{ uri: 'notes://index', mimeType: 'text/markdown', text: '# Notes' }]);
  assert.deepEqual(t.read('notes://bytes')[0].blob, new Uint8Array([1, 2, 3]));
  assert.throws(() => t.read('notes://gone'), { kind: 'not-found', detail: 'deleted' });
  assert.deepEqual(t.read('notes://notes/a%20b'), [{ uri: 'notes://notes/a%20b', mimeType: 'text/plain', text: 'note a b' }]);
  assert.deepEqual(t.resources.takeChanged(), ['notes://notes/a%20b']);
  assert.throws(() => t.read('notes://notes/boom'), { kind: 'failed', detail: 'resource template `notes://notes/{name}` threw Error: bad note' });
  assert.deepEqual(await t.read('files://a/b/c'), [{ uri: 'files://a/b/c', mimeType: 'text/plain', text: 'a/b/c' }]);
  assert.throws(() => t.read('other://x'), { kind: 'not-found' });
});

test('prompts and completion', () => {
  assert.deepEqual(t.prompts()[0].arguments.map((a) => [a.name, a.required]), [['uri', true], ['length', false]]);
  const r = t.getPrompt('summarise', { uri: 'doc' });
  assert.deepEqual(r.messages, [
    { role: 'user', content: { tag: 'text', val: 'Summarise doc in one paragraph.' } },
    { role: 'assistant', content: { tag: 'text', val: 'OK' } },
  ]);
  assert.throws(() => t.getPrompt('summarise', {}), { kind: 'invalid-arguments' });
  assert.throws(() => t.getPrompt('summarise', { uri: 'bad' }), { kind: 'invalid-arguments', detail: '`uri` is bad' });
  assert.throws(() => t.getPrompt('nope'), { kind: 'unknown-prompt' });
  assert.deepEqual(t.complete({ prompt: 'summarise' }, 'length', 'one s'), { values: ['one sentence'], total: 1, hasMore: false });
  assert.deepEqual(t.complete({ prompt: 'summarise' }, 'uri', ''), { values: [], total: undefined, hasMore: false });
  assert.deepEqual(t.complete({ template: 'notes://notes/{name}' }, 'name', ''), { values: ['a', 'b'], total: 10, hasMore: true });
});

test('events', () => {
  assert.deepEqual(t.interests(), ['plugin-loaded', 'config-applied', 'tool-called']);
  t.emit({ kind: 'tool-called', plugin: 'x', tool: 'y', durationUs: 5, outcome: 'success' });
  t.emit({ kind: 'plugin-unloaded', plugin: 'x' });
  assert.deepEqual(seen, [{ kind: 'tool-called', plugin: 'x', tool: 'y', durationUs: 5, outcome: 'success' }]);
  t.logs.take();
  t.emit({ kind: 'config-applied' });
  assert.deepEqual(t.logs.take(), [{ level: 'error', message: 'an event hook threw', fields: { event: 'config-applied', error: 'Error: hook failed' } }]);
  assert.throws(() => log.log('loud', 'x'), /unknown log level/);
});
