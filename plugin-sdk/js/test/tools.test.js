import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plugin, tool, ToolError, ToolOutput, log, config, client, ClientError } from '../src/index.js';
import * as t from '../src/testing.js';

t.logs.quiet();
plugin({ name: 'unit', version: '1.2.3', description: 'unit tests' });

tool({
  name: 'greet',
  title: 'Greet',
  description: 'Greets.',
  input: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
  annotations: { readOnly: true, idempotent: true },
  run: ({ name }, ctx) => {
    ctx.reportProgress(1, 2, 'half');
    log.info('greeting', { name, n: 2 });
    return `Hello, ${name}!`;
  },
});
tool({ name: 'nothing', description: 'Returns nothing.', run: () => undefined });
tool({ name: 'object', description: 'An object.', run: () => ({ a: 1, b: [true] }) });
tool({ name: 'array', description: 'An array.', run: () => [1, 2] });
tool({ name: 'soft', description: 'A soft error.', run: () => { throw new ToolError('try again with x'); } });
tool({ name: 'invalid', description: 'Bad args.', run: () => { throw ToolError.invalidArguments('`x` must be positive'); } });
tool({ name: 'failed', description: 'Fails.', run: () => { throw ToolError.failed('the disk is full'); } });
tool({ name: 'throws', description: 'Throws.', run: () => { throw new RangeError('out of range'); } });
tool({ name: 'throwsString', description: 'Throws a string.', run: () => { throw 'plain'; } });
tool({ name: 'bigint', description: 'BigInt.', run: () => ({ n: 1n }) });
tool({ name: 'cycle', description: 'Cycle.', run: () => { const o = {}; o.o = o; return o; } });
tool({ name: 'async', description: 'Async.', run: async ({ n }) => { await null; return { doubled: n * 2 }; } });
tool({ name: 'asyncFail', description: 'Async failure.', run: async () => { await null; throw ToolError.invalidArguments('later'); } });
tool({
  name: 'rich',
  description: 'Rich output.',
  run: () => new ToolOutput().text('see').image(new Uint8Array([1, 2]), 'image/png').link({ uri: 'x://a', name: 'a' }).resource({ uri: 'x://b', text: 'b' }).json({ ok: true }),
});
tool({ name: 'config', description: 'Config.', run: () => ({ key: config.get('key') ?? null, all: config.entries() }) });
tool({
  name: 'ask',
  description: 'Samples.',
  run: () => {
    try {
      return client.sample({ messages: ['hi'], maxTokens: 10 }).text;
    } catch (e) {
      assert.ok(e instanceof ClientError);
      return `no client: ${e.kind}`;
    }
  },
});

// A zod-like schema (the SDK only uses safeParse and toJSONSchema).
const fakeZod = {
  _zod: {},
  toJSONSchema: () => ({ $schema: 'x', type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] }),
  safeParse: (v) => (Number.isInteger(v.n) ? { success: true, data: { n: v.n, parsed: true } } : { success: false, error: { issues: [{ path: ['n'], message: 'Expected integer' }] } }),
};
tool({ name: 'zod', description: 'Zod input.', input: fakeZod, run: (args) => args });

test('manifest', () => {
  const m = t.manifest();
  assert.equal(m.name, 'unit');
  assert.equal(m.version, '1.2.3');
  assert.equal(m.description, 'unit tests');
  const greet = m.tools.find((x) => x.name === 'greet');
  assert.equal(greet.title, 'Greet');
  assert.deepEqual(JSON.parse(greet.inputSchema).required, ['name']);
  assert.deepEqual(greet.annotations, { readOnly: true, destructive: undefined, idempotent: true, openWorld: undefined });
  assert.deepEqual(JSON.parse(m.tools.find((x) => x.name === 'nothing').inputSchema), { type: 'object', properties: {} });
  assert.deepEqual(JSON.parse(m.tools.find((x) => x.name === 'zod').inputSchema), { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] });
});

test('results', async () => {
  const r = t.call('greet', { name: 'Ada' });
  assert.equal(r.text, 'Hello, Ada!');
  assert.equal(r.isError, false);
  assert.deepEqual(t.progress.take(), [{ progress: 1, total: 2, message: 'half' }]);
  assert.deepEqual(t.logs.take(), [{ level: 'info', message: 'greeting', fields: { name: 'Ada', n: '2' } }]);
  assert.deepEqual(t.call('nothing').content, []);
  const o = t.call('object');
  assert.equal(o.text, '{"a":1,"b":[true]}');
  assert.deepEqual(o.structured, { a: 1, b: [true] });
  const a = t.call('array');
  assert.equal(a.text, '[1,2]');
  assert.equal(a.structured, undefined);
  const rich = t.call('rich');
  assert.deepEqual(rich.content.map((b) => b.tag), ['text', 'image', 'resource-link', 'resource']);
  assert.deepEqual(rich.structured, { ok: true });
  assert.deepEqual(await t.call('async', { n: 21 }), { content: [{ tag: 'text', val: '{"doubled":42}' }], text: '{"doubled":42}', structured: { doubled: 42 }, isError: false });
});

test('errors', async () => {
  const soft = t.call('soft');
  assert.equal(soft.isError, true);
  assert.equal(soft.text, 'try again with x');
  assert.throws(() => t.call('invalid'), { name: 'CallError', kind: 'invalid-arguments', detail: '`x` must be positive' });
  assert.throws(() => t.call('failed'), { kind: 'failed', detail: 'the disk is full' });
  assert.throws(() => t.call('throws'), { kind: 'failed', detail: 'tool `throws` threw RangeError: out of range' });
  assert.throws(() => t.call('throwsString'), { kind: 'failed', detail: 'tool `throwsString` threw plain' });
  assert.throws(() => t.call('bigint'), (e) => e.kind === 'failed' && /tool `bigint` returned a value that cannot be written as JSON/.test(e.detail));
  assert.throws(() => t.call('cycle'), (e) => e.kind === 'failed' && /tool `cycle` .*JSON/.test(e.detail));
  assert.throws(() => t.call('missing'), (e) => e.kind === 'unknown-tool' && /no tool `missing`; it has: greet, nothing/.test(e.detail));
  await assert.rejects(async () => t.call('asyncFail'), { kind: 'invalid-arguments', detail: 'later' });
});

test('zod input is validated and parsed', () => {
  assert.deepEqual(t.call('zod', { n: 3 }).structured, { n: 3, parsed: true });
  assert.throws(() => t.call('zod', { n: 'x' }), { kind: 'invalid-arguments', detail: '`n`: Expected integer' });
});

test('config and client stand-ins', () => {
  t.config.set('key', 'v');
  t.config.set('a', '1');
  assert.deepEqual(t.call('config').structured, { key: 'v', all: [['a', '1'], ['key', 'v']] });
  assert.equal(t.call('ask').text, 'no client: unavailable');
  t.client.onSample((req) => ({ role: 'assistant', content: { tag: 'text', val: `echo ${req.messages[0].content.val}` }, model: 'm' }));
  assert.equal(t.call('ask').text, 'echo hi');
  t.reset();
  assert.equal(t.call('config').structured.key, null);
});
