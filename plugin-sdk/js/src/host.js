// Where the SDK's imports come from.
//
// Inside a component, the entry the build tool generates imports the WIT interfaces
// (`berth:plugin/log@0.3.0`, …) and hands them to `installHost` before the plugin's own
// module runs. Under plain Node nothing is installed and the SDK uses the native
// stand-ins below: log to stderr, a config map, recorded progress and change notices,
// client requests that fail unless a test answers them, and an in-memory key-value store.
// The SDK itself never names a `berth:` or `wasi:` module, so it imports under Node.

const native = {
  config: new Map(),
  progress: [],
  changed: [],
  sample: null,
  elicit: null,
  kv: new Map(),
  logs: [],
  quietLogs: false,
};

let installed = null;
let packageDefaults = null;
let keyvalueEnabled = true; // natively: as package.json says once `testing` reads it

/** Called by the generated component entry: the WIT imports, and the package.json defaults. */
export function installHost(bindings, defaults) {
  installed = bindings;
  packageDefaults = defaults ?? null;
  keyvalueEnabled = Boolean(bindings.keyvalue);
}

export function isComponent() {
  return installed !== null;
}

export function setPackageDefaults(defaults) {
  packageDefaults = defaults;
}

export function getPackageDefaults() {
  return packageDefaults;
}

export function nativeState() {
  return native;
}

export function setNativeKeyvalue(enabled) {
  keyvalueEnabled = Boolean(enabled);
}

// --- the interfaces, host or native ---

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

export function hostLog(level, message, fields) {
  if (!LEVELS.includes(level)) throw new TypeError(`unknown log level \`${level}\`; use one of ${LEVELS.join(', ')}`);
  const pairs = fieldPairs(fields);
  if (installed) {
    installed.log.log(level, String(message), pairs);
    return;
  }
  native.logs.push({ level, message: String(message), fields: Object.fromEntries(pairs) });
  if (!native.quietLogs) {
    const rendered = pairs.map(([k, v]) => ` ${k}=${v}`).join('');
    process.stderr.write(`[${level}] ${message}${rendered}\n`);
  }
}

function fieldPairs(fields) {
  if (fields == null) return [];
  const entries = Array.isArray(fields) ? fields : Object.entries(fields);
  return entries.map(([k, v]) => [String(k), typeof v === 'string' ? v : safeString(v)]);
}

function safeString(value) {
  try {
    const text = JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    return text === undefined ? String(value) : text;
  } catch {
    return String(value);
  }
}

export function hostConfigGet(key) {
  if (installed) return installed.config.get(String(key)) ?? undefined;
  return native.config.get(String(key));
}

export function hostConfigEntries() {
  if (installed) return installed.config.entries();
  return [...native.config.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function hostProgress(progress, total, message) {
  if (installed) {
    installed.progress.report(Number(progress), total == null ? undefined : Number(total), message == null ? undefined : String(message));
    return;
  }
  native.progress.push({ progress: Number(progress), total: total ?? undefined, message: message ?? undefined });
}

export function hostResourceChanged(uri) {
  if (installed) {
    installed.resources.changed(String(uri));
    return;
  }
  native.changed.push(String(uri));
}

export function hostClient() {
  if (installed) return installed.client;
  return {
    sample(request) {
      if (!native.sample) throw { tag: 'unavailable', val: 'no client natively (a test answers with testing.client.onSample)' };
      return native.sample(request);
    },
    elicit(message, schema) {
      if (!native.elicit) throw { tag: 'unavailable', val: 'no client natively (a test answers with testing.client.onElicit)' };
      return native.elicit(message, schema);
    },
  };
}

/** The wasi:keyvalue interfaces ({ store, atomics, batch }), or null when the build has no state. */
export function hostKeyvalue() {
  if (installed) return installed.keyvalue ?? null;
  return keyvalueEnabled ? nativeKeyvalue : null;
}

// An in-memory wasi:keyvalue with the host's semantics: sorted keys, decimal counters,
// all-or-nothing batches. Errors are thrown as the component bindings throw them.
class NativeBucket {
  constructor(name) {
    this.name = name;
  }
  #map() {
    let map = native.kv.get(this.name);
    if (!map) native.kv.set(this.name, (map = new Map()));
    return map;
  }
  get(key) {
    const v = this.#map().get(key);
    return v === undefined ? undefined : new Uint8Array(v);
  }
  set(key, value) {
    this.#map().set(key, new Uint8Array(value));
  }
  delete(key) {
    this.#map().delete(key);
  }
  exists(key) {
    return this.#map().has(key);
  }
  listKeys(_cursor) {
    return { keys: [...this.#map().keys()].sort(), cursor: undefined };
  }
}

const nativeKeyvalue = {
  store: {
    open(name) {
      if (native.denied?.has(name)) throw { tag: 'access-denied' };
      return new NativeBucket(name);
    },
  },
  atomics: {
    increment(bucket, key, delta) {
      const current = bucket.get(key);
      let n = 0n;
      if (current !== undefined) {
        const text = new TextDecoder().decode(current);
        if (!/^\d+$/.test(text)) throw { tag: 'other', val: `the value of \`${key}\` is not a counter` };
        n = BigInt(text);
      }
      n += BigInt(delta);
      bucket.set(key, new TextEncoder().encode(n.toString()));
      return n;
    },
  },
  batch: {
    getMany(bucket, keys) {
      return keys.map((k) => {
        const v = bucket.get(k);
        return v === undefined ? undefined : [k, v];
      });
    },
    setMany(bucket, entries) {
      for (const [k, v] of entries) bucket.set(k, v);
    },
    deleteMany(bucket, keys) {
      for (const k of keys) bucket.delete(k);
    },
  },
};
