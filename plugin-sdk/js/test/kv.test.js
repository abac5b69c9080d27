import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plugin, tool, kv, KvError } from '../src/index.js';
import * as t from '../src/testing.js';

plugin({ name: 'kvtest' });
tool({ name: 'visit', description: 'Counts visits.', run: () => kv.open('visits').increment('count') });

test('buckets keep JSON values', () => {
  t.kv.enable(true);
  t.kv.clear();
  const b = kv.open('notes');
  assert.equal(b.get('missing'), undefined);
  b.set('greeting', { text: 'hello' });
  assert.deepEqual(b.get('greeting'), { text: 'hello' });
  assert.equal(b.exists('greeting'), true);
  assert.equal(b.increment('visits'), 1);
  assert.equal(b.increment('visits', 5), 6);
  assert.equal(b.get('visits'), 6);
  b.setMany({ a: 1, b: [2] });
  assert.deepEqual(b.getMany(['a', 'b', 'zz']), [1, [2], undefined]);
  assert.deepEqual(b.keys(), ['a', 'b', 'greeting', 'visits']);
  b.delete('a');
  b.deleteMany(['b']);
  assert.deepEqual(b.keys(), ['greeting', 'visits']);
  assert.throws(() => b.set('big', 1n), (e) => e instanceof KvError && e.kind === 'encode' && /`big` cannot be stored as JSON/.test(e.message));
  assert.throws(() => b.increment('greeting'), (e) => e.kind === 'store');
  assert.equal(t.call('visit').text, '1');
  assert.equal(t.call('visit').text, '2');
});

test('an ungranted bucket is named', () => {
  t.kv.enable(true);
  t.kv.deny('secret');
  assert.throws(() => kv.open('secret'), (e) => e.kind === 'not-granted' && /the state bucket `secret` is not granted/.test(e.message));
  t.kv.deny('visits');
  assert.throws(() => t.call('visit'), (e) => e.kind === 'failed' && /bucket `visits` is not granted/.test(e.detail));
});

test('without "keyvalue": true, kv says how to enable it', () => {
  t.kv.enable(false);
  assert.throws(() => kv.open('notes'), (e) => e.kind === 'disabled' && /"berth": \{ "keyvalue": true \}/.test(e.message));
});
