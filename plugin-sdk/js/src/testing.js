// Drives a plugin under plain Node the way the host does, with stand-ins for the host's
// imports. Import the plugin's module, then call manifest(), call(), read(), ...

import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { nativeState, setPackageDefaults, getPackageDefaults, setNativeKeyvalue } from './host.js';
import * as core from './plugin.js';
import { isThenable } from './plugin.js';

/** A call-error, read-error or prompt-error the host would get. `kind` is its WIT case. */
export class CallError extends Error {
  constructor(kind, message) {
    super(`${kind}: ${message}`);
    this.name = 'CallError';
    this.kind = kind;
    this.detail = message;
  }
}

/** package.json defaults, as `berth-js build` injects them. */
export function packageDefaults(pkg) {
  const name = typeof pkg.name === 'string' ? pkg.name.replace(/^@[^/]+\//, '') : undefined;
  return { name, version: pkg.version, description: pkg.description };
}

function findPackage(start) {
  let dir = start;
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

if (getPackageDefaults() === null) {
  const pkg = findPackage(process.cwd());
  if (pkg) {
    setPackageDefaults(packageDefaults(pkg));
    setNativeKeyvalue(pkg.berth?.keyvalue === true);
  }
}

function rethrow(e) {
  if (e && typeof e === 'object' && typeof e.tag === 'string') throw new CallError(e.tag, e.val);
  throw e;
}

function friendlyResult(r) {
  const text = r.content.filter((b) => b.tag === 'text').map((b) => b.val).join('\n');
  return { content: r.content, text, structured: r.structured === undefined ? undefined : JSON.parse(r.structured), isError: r.isError };
}

/** The manifest `describe` returns (throws listing every problem when the plugin is invalid). */
export function manifest() {
  return core.describe();
}

/** Throws an Error listing every problem the host would refuse the plugin for. */
export function validate() {
  core.describe();
}

/**
 * Calls tool `name` with `args` (an object) as the host does. Returns
 * { content, text, structured, isError }; throws CallError for a call-error.
 */
export function call(name, args = {}, context = {}) {
  let r;
  try {
    r = core.callTool(name, JSON.stringify(args), context);
  } catch (e) {
    rethrow(e);
  }
  return isThenable(r) ? r.then(friendlyResult, rethrow) : friendlyResult(r);
}

/** Reads `uri` as the host does: a list of { uri, mimeType, text | blob }; throws CallError. */
export function read(uri, context = {}) {
  const friendly = (list) => list.map((c) => ({ uri: c.uri, mimeType: c.mimeType, ...(c.body.tag === 'text' ? { text: c.body.val } : { blob: c.body.val }) }));
  let r;
  try {
    r = core.readResource(uri, context);
  } catch (e) {
    rethrow(e);
  }
  return isThenable(r) ? r.then(friendly, rethrow) : friendly(r);
}

/** The event kinds the plugin asks for. */
export function interests() {
  return core.interests();
}

/** Delivers `event` ({ kind, ...fields }, as hooks receive it) to the plugin's hooks. */
export function emit(event) {
  const { kind, ...f } = event;
  const val = {
    'plugin-loaded': () => ({ plugin: f.plugin, version: f.version }),
    'plugin-reloaded': () => ({ plugin: f.plugin, from: f.from, to: f.to }),
    'plugin-unloaded': () => f.plugin,
    'plugin-load-failed': () => ({ file: f.file, error: f.error }),
    'config-applied': () => undefined,
    'config-rejected': () => f.reason,
    'tool-called': () => ({ plugin: f.plugin, tool: f.tool, durationUs: BigInt(f.durationUs ?? 0), outcome: f.outcome ?? 'success' }),
  }[kind];
  if (!val) throw new TypeError(`unknown event kind \`${kind}\``);
  return core.deliverEvent({ tag: kind, val: val() });
}

export function needs() {
  return core.getNeeds();
}

export function prompts() {
  return core.listPrompts();
}

/** Fills in prompt `name` with `args` (an object of strings); throws CallError. */
export function getPrompt(name, args = {}, context = {}) {
  let r;
  try {
    r = core.getPrompt(name, Object.entries(args), context);
  } catch (e) {
    rethrow(e);
  }
  return isThenable(r) ? r.then(undefined, rethrow) : r;
}

/** Completion: target is { prompt: name } or { template: uriTemplate }. Throws Error with the plugin's message. */
export function complete(target, argument, value, chosen = {}) {
  const t = target.prompt !== undefined ? { tag: 'prompt', val: target.prompt } : { tag: 'resource-template', val: target.template };
  try {
    return core.complete(t, argument, value, Object.entries(chosen));
  } catch (e) {
    throw typeof e === 'string' ? new Error(e) : e;
  }
}

export function icons() {
  return core.getIcons();
}

const native = nativeState();

/** Config values the plugin reads with config.get / config.entries. */
export const config = {
  set(key, value) {
    native.config.set(String(key), String(value));
  },
  clear() {
    native.config.clear();
  },
};

/** The in-memory state store. */
export const kv = {
  clear() {
    native.kv.clear();
  },
  /** Turns native state on or off (default: package.json's "berth": { "keyvalue" }). */
  enable(on = true) {
    setNativeKeyvalue(on);
  },
  /** Makes opening `bucket` fail as an ungranted bucket does. */
  deny(bucket) {
    (native.denied ??= new Set()).add(bucket);
  },
};

export const progress = {
  /** The progress reports made so far ({ progress, total, message }), emptied. */
  take() {
    return native.progress.splice(0);
  },
};

export const resources = {
  /** The URIs reported changed so far, emptied. */
  takeChanged() {
    return native.changed.splice(0);
  },
};

export const logs = {
  /** Log records so far ({ level, message, fields }), emptied. */
  take() {
    return native.logs.splice(0);
  },
  /** Stops (or restarts) printing log records to stderr. */
  quiet(on = true) {
    native.quietLogs = on;
  },
};

export const client = {
  /** Answers client.sample: fn(request) returns { role, content, model, stopReason? } (WIT shape). */
  onSample(fn) {
    native.sample = fn;
  },
  /** Answers client.elicit: fn(message, schemaText) returns { action, content?: JSON text }. */
  onElicit(fn) {
    native.elicit = fn;
  },
};

/** Empties config, state, recorded progress, change notices, logs and client answers. */
export function reset() {
  native.config.clear();
  native.kv.clear();
  native.denied?.clear();
  native.progress.length = 0;
  native.changed.length = 0;
  native.logs.length = 0;
  native.sample = null;
  native.elicit = null;
}
