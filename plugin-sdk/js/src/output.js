// Errors and rich results.

/** A tool failure. `new ToolError(msg)` is a result the model sees (isError); the static
 * constructors make call errors the host reports as the call failing. */
export class ToolError extends Error {
  constructor(message, kind = 'result') {
    super(String(message));
    this.name = 'ToolError';
    this.kind = kind; // 'result' | 'invalid-arguments' | 'failed'
  }
  /** The arguments do not fit the tool: say which field and why (call-error invalid-arguments). */
  static invalidArguments(message) {
    return new ToolError(message, 'invalid-arguments');
  }
  /** The tool failed (call-error failed). */
  static failed(message) {
    return new ToolError(message, 'failed');
  }
  /** A result with isError the model sees and may correct (same as `new ToolError`). */
  static result(message) {
    return new ToolError(message, 'result');
  }
}

/** A resource read failure: `notFound` or `failed`. */
export class ResourceError extends Error {
  constructor(message, kind = 'failed') {
    super(String(message));
    this.name = 'ResourceError';
    this.kind = kind; // 'not-found' | 'failed'
  }
  static notFound(message) {
    return new ResourceError(message, 'not-found');
  }
  static failed(message) {
    return new ResourceError(message, 'failed');
  }
}

function bytes(data, what) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data === 'string') return base64Decode(data);
  throw new TypeError(`${what}: data must be a Uint8Array or base64 text`);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64Decode(text) {
  const clean = text.replace(/[\s=]/g, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let j = 0;
  for (const ch of clean) {
    const v = B64.indexOf(ch === '-' ? '+' : ch === '_' ? '/' : ch);
    if (v < 0) throw new TypeError('invalid base64 data');
    value = (value << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (value >> bits) & 0xff;
    }
  }
  return out.subarray(0, j);
}

/** Content blocks, for ToolOutput and prompt messages. */
export const Content = {
  text(text) {
    return { tag: 'text', val: String(text) };
  },
  image(data, mimeType) {
    return { tag: 'image', val: { data: bytes(data, 'image'), mimeType: String(mimeType) } };
  },
  audio(data, mimeType) {
    return { tag: 'audio', val: { data: bytes(data, 'audio'), mimeType: String(mimeType) } };
  },
  link({ uri, name, title, description, mimeType }) {
    if (!uri || !name) throw new TypeError('a resource link needs `uri` and `name`');
    return { tag: 'resource-link', val: { uri, name, title, description, mimeType } };
  },
  resource(contents) {
    return { tag: 'resource', val: resourceContents(contents, contents?.uri) };
  },
};

/** `{ uri, mimeType?, text | blob }` → WIT resource-contents. */
export function resourceContents(value, defaultUri, defaultMime) {
  if (typeof value === 'string') return { uri: defaultUri, mimeType: defaultMime, body: { tag: 'text', val: value } };
  if (value instanceof Uint8Array) return { uri: defaultUri, mimeType: defaultMime, body: { tag: 'blob', val: value } };
  if (value && typeof value === 'object') {
    const uri = value.uri ?? defaultUri;
    if (!uri) throw new TypeError('resource contents need a `uri`');
    const mimeType = value.mimeType ?? defaultMime;
    if (value.text !== undefined) return { uri, mimeType, body: { tag: 'text', val: String(value.text) } };
    if (value.blob !== undefined) return { uri, mimeType, body: { tag: 'blob', val: bytes(value.blob, 'blob') } };
  }
  throw new TypeError('resource contents must be a string, a Uint8Array, or { uri?, mimeType?, text | blob }');
}

/** A rich tool result, built step by step: `new ToolOutput().text("…").image(png, "image/png")`. */
export class ToolOutput {
  constructor() {
    this.content = [];
    this.structuredContent = undefined;
    this.isError = false;
  }
  static text(text) {
    return new ToolOutput().text(text);
  }
  static json(value) {
    return new ToolOutput().json(value);
  }
  text(text) {
    this.content.push(Content.text(text));
    return this;
  }
  image(data, mimeType) {
    this.content.push(Content.image(data, mimeType));
    return this;
  }
  audio(data, mimeType) {
    this.content.push(Content.audio(data, mimeType));
    return this;
  }
  link(link) {
    this.content.push(Content.link(link));
    return this;
  }
  resource(contents) {
    this.content.push(Content.resource(contents));
    return this;
  }
  /** Structured content (a JSON object); also added as a text block unless one exists. */
  json(value) {
    this.structuredContent = value;
    return this;
  }
  /** Marks the result as an error the model sees. */
  error(flag = true) {
    this.isError = Boolean(flag);
    return this;
  }
}
