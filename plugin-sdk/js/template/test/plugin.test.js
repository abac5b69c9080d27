// `npm test` compiles src/index.ts to build/index.js, then runs this with node --test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, validate } from '@berth/plugin-sdk/testing';
import '../build/index.js';

test('the plugin is valid', () => validate());

test('greet', () => {
  assert.equal(call('greet', { name: 'Ada' }).text, 'Hello, Ada!');
});
