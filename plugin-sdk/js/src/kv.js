// Plugin state through wasi:keyvalue: buckets of JSON values.

import { hostKeyvalue } from './host.js';

/** Why a state operation failed. `kind`: not-granted | disabled | store | decode | encode. */
export class KvError extends Error {
  constructor(kind, message, detail = {}) {
    super(message);
    this.name = 'KvError';
    this.kind = kind;
    Object.assign(this, detail);
  }
}

function storeError(bucket, e) {
  const err = e?.payload ?? e;
  const tag = err?.tag;
  if (tag === 'access-denied') {
    return new KvError('not-granted', `the state bucket \`${bucket}\` is not granted to this plugin; the operator adds it to \`keyvalue.buckets\` in the plugin's grants`, { bucket });
  }
  if (tag === 'no-such-store') return new KvError('store', `no state bucket \`${bucket}\``, { bucket });
  if (tag === 'other') return new KvError('store', String(err.val), { bucket });
  return new KvError('store', e instanceof Error ? e.message : String(e), { bucket });
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function encode(key, value) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new KvError('encode', `the value for \`${key}\` cannot be stored as JSON: ${e.message}`, { key });
  }
  if (text === undefined) throw new KvError('encode', `the value for \`${key}\` cannot be stored as JSON: it is ${typeof value}`, { key });
  return enc.encode(text);
}

function decode(key, bytes) {
  try {
    return JSON.parse(dec.decode(bytes));
  } catch (e) {
    throw new KvError('decode', `the value of \`${key}\` is not JSON: ${e.message}`, { key });
  }
}

function interfaces() {
  const kv = hostKeyvalue();
  if (!kv) {
    throw new KvError(
      'disabled',
      'this plugin was built without state: set "berth": { "keyvalue": true } in its package.json and rebuild (the operator then grants buckets with [plugins.NAME.grants] keyvalue = { buckets = [...] })',
    );
  }
  return kv;
}

/** One open bucket of this plugin's state. */
export class Bucket {
  #kv;
  #handle;
  constructor(name, kv, handle) {
    this.name = name;
    this.#kv = kv;
    this.#handle = handle;
  }
  #call(f) {
    try {
      return f();
    } catch (e) {
      if (e instanceof KvError) throw e;
      throw storeError(this.name, e);
    }
  }
  /** The value at `key` (parsed JSON), or undefined. */
  get(key) {
    const bytes = this.getBytes(key);
    return bytes === undefined ? undefined : decode(key, bytes);
  }
  /** Stores `value` at `key` as JSON. */
  set(key, value) {
    this.setBytes(key, encode(key, value));
  }
  getBytes(key) {
    return this.#call(() => this.#handle.get(String(key)) ?? undefined);
  }
  setBytes(key, bytes) {
    this.#call(() => this.#handle.set(String(key), bytes));
  }
  /** Removes `key`; a missing key is fine. */
  delete(key) {
    this.#call(() => this.#handle.delete(String(key)));
  }
  exists(key) {
    return this.#call(() => this.#handle.exists(String(key)));
  }
  /** Every key, in ascending byte order. */
  keys() {
    const all = [];
    let cursor;
    for (;;) {
      const page = this.#call(() => this.#handle.listKeys(cursor));
      all.push(...page.keys);
      if (page.cursor === undefined || page.cursor === null) return all;
      cursor = page.cursor;
    }
  }
  /** Adds `delta` (default 1) to the counter at `key` atomically; returns the new value. */
  increment(key, delta = 1) {
    if (!Number.isSafeInteger(delta) || delta < 0) throw new KvError('store', `increment takes a non-negative whole delta, got ${delta}`, { key });
    return Number(this.#call(() => this.#kv.atomics.increment(this.#handle, String(key), BigInt(delta))));
  }
  /** The values at `keys`, in order (undefined where missing). */
  getMany(keys) {
    const found = this.#call(() => this.#kv.batch.getMany(this.#handle, keys.map(String)));
    return found.map((kv, i) => (kv === undefined || kv === null ? undefined : decode(keys[i], kv[1])));
  }
  /** Stores every entry or none: an object or an array of [key, value]. */
  setMany(entries) {
    const list = Array.isArray(entries) ? entries : Object.entries(entries);
    const encoded = list.map(([k, v]) => [String(k), encode(k, v)]);
    this.#call(() => this.#kv.batch.setMany(this.#handle, encoded));
  }
  deleteMany(keys) {
    this.#call(() => this.#kv.batch.deleteMany(this.#handle, keys.map(String)));
  }
}

/** Opens the bucket `name` (granted by the operator). */
export function open(name) {
  const kv = interfaces();
  let handle;
  try {
    handle = kv.store.open(String(name));
  } catch (e) {
    throw storeError(name, e);
  }
  return new Bucket(String(name), kv, handle);
}

export const kv = { open, KvError };
