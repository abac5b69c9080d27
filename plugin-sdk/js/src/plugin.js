// Declarations and the component exports built from them.

import { ToolError, ResourceError, ToolOutput, Content, resourceContents } from './output.js';
import { hostLog, hostProgress, getPackageDefaults } from './host.js';

const state = {
  meta: {},
  tools: [],
  resources: [],
  templates: [],
  prompts: [],
  completions: [],
  hooks: [],
  needs: { folders: [], env: [], network: [] },
  icons: [],
};

export const EVENT_KINDS = [
  'plugin-loaded',
  'plugin-reloaded',
  'plugin-unloaded',
  'plugin-load-failed',
  'config-applied',
  'config-rejected',
  'tool-called',
];

function nameProblem(name, max) {
  if (typeof name !== 'string' || name.length === 0 || name.length > max) return `must be 1 to ${max} characters long`;
  const bad = [...name].find((c) => !/[A-Za-z0-9_-]/.test(c));
  return bad === undefined ? null : `contains \`${bad}\`; only ASCII letters, digits, \`_\` and \`-\` are allowed`;
}

function declarationError(what, message) {
  const error = new TypeError(`${what}: ${message}`);
  error.berthDeclaration = true;
  return error;
}

function optString(value, what, field) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw declarationError(what, `\`${field}\` must be a string`);
  return value;
}

function isZod(schema) {
  return schema !== null && typeof schema === 'object' && ('_zod' in schema || '_def' in schema) && typeof schema.safeParse === 'function';
}

function zodJsonSchema(schema, what) {
  if (typeof schema.toJSONSchema !== 'function') {
    throw declarationError(what, 'this zod schema has no `toJSONSchema()`; use zod 4 (npm install zod@4)');
  }
  const json = schema.toJSONSchema({ io: 'input', unrepresentable: 'any' });
  delete json.$schema;
  return json;
}

function formatZodIssues(error) {
  return (error?.issues ?? [])
    .map((issue) => {
      const path = issue.path?.length ? `\`${issue.path.join('.')}\`` : 'the arguments';
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

function schemaText(schema, what, field) {
  let text;
  try {
    text = JSON.stringify(schema);
  } catch (e) {
    throw declarationError(what, `\`${field}\` cannot be written as JSON: ${e.message}`);
  }
  if (text === undefined) throw declarationError(what, `\`${field}\` is not a JSON Schema`);
  return text;
}

function objectSchemaOf(input, what, field) {
  if (isZod(input)) {
    const json = zodJsonSchema(input, what);
    if (json.type !== 'object') throw declarationError(what, `the zod schema of \`${field}\` must be a z.object(...), got type ${JSON.stringify(json.type)}`);
    return { json, zod: input };
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw declarationError(what, `\`${field}\` must be a JSON Schema object or a zod schema`);
  }
  if (input.type !== 'object') {
    throw declarationError(what, `\`${field}\` must have \`"type": "object"\`, got ${JSON.stringify(input.type)}`);
  }
  const json = input.properties === undefined ? { ...input, properties: {} } : input;
  return { json, zod: null };
}

function iconsOf(icons, what) {
  if (icons === undefined) return [];
  const list = Array.isArray(icons) ? icons : [icons];
  return list.map((icon) => {
    const value = typeof icon === 'string' ? { src: icon } : icon;
    if (!value || typeof value.src !== 'string') throw declarationError(what, 'an icon needs a `src`');
    if (!/^https:\/\//.test(value.src) && !/^data:/.test(value.src)) {
      throw declarationError(what, `icon \`${value.src.slice(0, 40)}\` must be an https: URL or a data: URI`);
    }
    if (value.theme !== undefined && value.theme !== 'light' && value.theme !== 'dark') {
      throw declarationError(what, 'an icon theme is "light" or "dark"');
    }
    let mimeType = value.mimeType;
    if (mimeType === undefined) {
      const data = /^data:([^;,]+)/.exec(value.src);
      const ext = /\.([a-z0-9]+)(?:[?#].*)?$/i.exec(value.src)?.[1]?.toLowerCase();
      const byExt = { png: 'image/png', svg: 'image/svg+xml', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif', ico: 'image/x-icon' };
      mimeType = data ? data[1] : byExt[ext];
    }
    const sizes = value.sizes ?? (mimeType === 'image/svg+xml' ? ['any'] : []);
    return { src: value.src, mimeType, sizes: Array.isArray(sizes) ? sizes.map(String) : [String(sizes)], theme: value.theme };
  });
}

// --- declarations ---

/** Sets the plugin's name, version and description (default: package.json's). */
export function plugin({ name, version, description } = {}) {
  if (name !== undefined) {
    const problem = nameProblem(name, 32);
    if (problem) throw declarationError(`plugin name \`${name}\``, problem);
  }
  Object.assign(state.meta, Object.fromEntries(Object.entries({ name, version, description }).filter(([, v]) => v !== undefined)));
}

/** Declares a tool. */
export function tool(def) {
  const what = `tool \`${def?.name}\``;
  if (!def || typeof def !== 'object') throw declarationError('tool', 'takes one object: { name, description, input, run }');
  const problem = nameProblem(def.name, 64);
  if (problem) throw declarationError(`tool name \`${def.name}\``, problem);
  if (typeof def.description !== 'string' || def.description.trim() === '') throw declarationError(what, 'needs a `description` (what it does, for the model)');
  if (typeof def.run !== 'function') throw declarationError(what, 'needs a `run(args, ctx)` function');
  if (state.tools.some((t) => t.name === def.name)) throw declarationError(what, 'is declared twice');
  const input = objectSchemaOf(def.input ?? { type: 'object', properties: {} }, what, 'input');
  let output;
  if (def.output !== undefined) {
    output = isZod(def.output) ? zodJsonSchema(def.output, what) : def.output;
    if (!output || output.type !== 'object') throw declarationError(what, '`output` must be an object schema (`"type": "object"`)');
  }
  const a = def.annotations ?? {};
  for (const key of Object.keys(a)) {
    if (!['readOnly', 'destructive', 'idempotent', 'openWorld'].includes(key)) throw declarationError(what, `unknown annotation \`${key}\` (readOnly, destructive, idempotent, openWorld)`);
  }
  const entry = {
    name: def.name,
    title: optString(def.title, what, 'title'),
    description: def.description.trim(),
    inputSchema: schemaText(input.json, what, 'input'),
    outputSchema: output === undefined ? undefined : schemaText(output, what, 'output'),
    annotations: {
      readOnly: boolOpt(a.readOnly),
      destructive: boolOpt(a.destructive),
      idempotent: boolOpt(a.idempotent),
      openWorld: boolOpt(a.openWorld),
    },
    zod: input.zod,
    run: def.run,
  };
  state.tools.push(entry);
  addIcons({ tag: 'tool', val: def.name }, def.icons, what);
  return def;
}

function boolOpt(v) {
  return v === undefined || v === null ? undefined : Boolean(v);
}

function addIcons(item, icons, what) {
  const list = iconsOf(icons, what);
  if (list.length) state.icons.push([item, list]);
}

/** Declares a static resource. */
export function resource(def) {
  const what = `resource \`${def?.uri}\``;
  if (typeof def?.uri !== 'string' || !def.uri.includes(':')) throw declarationError(what, 'needs an absolute `uri` with a scheme');
  if (typeof def.name !== 'string' || !def.name) throw declarationError(what, 'needs a `name`');
  if (typeof def.read !== 'function') throw declarationError(what, 'needs a `read(ctx)` function');
  if (state.resources.some((r) => r.uri === def.uri)) throw declarationError(what, 'is declared twice');
  state.resources.push({ ...def });
  addIcons({ tag: 'resource', val: def.uri }, def.icons, what);
  return def;
}

/** Declares a resource template (RFC 6570 level 1 and `{+var}`). */
export function resourceTemplate(def) {
  const what = `resource template \`${def?.uriTemplate}\``;
  if (typeof def?.uriTemplate !== 'string') throw declarationError('resource template', 'needs a `uriTemplate`');
  if (typeof def.name !== 'string' || !def.name) throw declarationError(what, 'needs a `name`');
  if (typeof def.read !== 'function') throw declarationError(what, 'needs a `read(params, ctx)` function');
  const matcher = compileTemplate(def.uriTemplate, what);
  state.templates.push({ ...def, matcher });
  addIcons({ tag: 'resource-template', val: def.uriTemplate }, def.icons, what);
  return def;
}

function compileTemplate(template, what) {
  const names = [];
  let pattern = '^';
  let rest = template;
  while (rest.length) {
    const open = rest.indexOf('{');
    if (open < 0) {
      if (rest.includes('}')) throw declarationError(what, 'has a `}` without `{`');
      pattern += escape(rest);
      break;
    }
    pattern += escape(rest.slice(0, open));
    const close = rest.indexOf('}', open);
    if (close < 0) throw declarationError(what, 'has a `{` without `}`');
    let expr = rest.slice(open + 1, close);
    const reserved = expr.startsWith('+');
    if (reserved) expr = expr.slice(1);
    if (!/^[A-Za-z0-9_]+$/.test(expr)) throw declarationError(what, `\`{${expr}}\` is not a supported variable (use {name} or {+name})`);
    names.push(expr);
    pattern += reserved ? '(.+)' : '([^/?#]+)';
    rest = rest.slice(close + 1);
  }
  const re = new RegExp(pattern + '$');
  return (uri) => {
    const m = re.exec(uri);
    if (!m) return null;
    const params = {};
    names.forEach((n, i) => {
      try {
        params[n] = decodeURIComponent(m[i + 1]);
      } catch {
        params[n] = m[i + 1];
      }
    });
    return params;
  };
}

function escape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Declares a prompt. */
export function prompt(def) {
  const what = `prompt \`${def?.name}\``;
  const problem = nameProblem(def?.name, 64);
  if (problem) throw declarationError(`prompt name \`${def?.name}\``, problem);
  if (typeof def.get !== 'function') throw declarationError(what, 'needs a `get(args, ctx)` function');
  if (state.prompts.some((p) => p.name === def.name)) throw declarationError(what, 'is declared twice');
  const args = (def.arguments ?? []).map((a) => {
    if (typeof a === 'string') return { name: a, required: true };
    if (!a || typeof a.name !== 'string' || !a.name) throw declarationError(what, 'every argument needs a `name`');
    return { name: a.name, title: a.title, description: a.description, required: a.required ?? true };
  });
  state.prompts.push({ name: def.name, title: def.title, description: def.description, arguments: args, get: def.get });
  addIcons({ tag: 'prompt', val: def.name }, def.icons, what);
  return def;
}

/** Declares suggestions for a prompt argument or a template variable. */
export function completion(def) {
  const { prompt: promptName, template, argument, complete } = def ?? {};
  if ((promptName === undefined) === (template === undefined)) throw declarationError('completion', 'names exactly one of `prompt` or `template`');
  if (typeof complete !== 'function') throw declarationError('completion', 'needs a `complete(argument, value, chosen)` function');
  state.completions.push({ target: promptName !== undefined ? { tag: 'prompt', val: promptName } : { tag: 'resource-template', val: template }, argument, complete });
  return def;
}

/** Calls `handler(event)` for host events of the given kinds. */
export function onEvent(kinds, handler) {
  const list = Array.isArray(kinds) ? kinds : [kinds];
  for (const k of list) {
    if (!EVENT_KINDS.includes(k)) throw declarationError('onEvent', `unknown event kind \`${k}\`; kinds are ${EVENT_KINDS.join(', ')}`);
  }
  if (typeof handler !== 'function') throw declarationError('onEvent', 'needs a handler function');
  state.hooks.push({ kinds: list, handler });
}

/** Declares the folders, environment variables and network destinations the plugin needs. */
export function needs({ folders = [], env = [], network = [] } = {}) {
  for (const f of folders) {
    if (typeof f?.path !== 'string' || !f.path.startsWith('/')) throw declarationError('needs', 'a folder needs an absolute `path`');
    state.needs.folders.push({ path: f.path, write: Boolean(f.write), reason: String(f.reason ?? '') });
  }
  state.needs.env.push(...env.map(String));
  state.needs.network.push(...network.map(String));
}

/** Adds icons to an item: `icon({ tool: 'x' }, 'https://…/x.png')`. */
export function icon(item, icons) {
  const [kind, val] = Object.entries(item ?? {})[0] ?? [];
  const tags = { tool: 'tool', prompt: 'prompt', resource: 'resource', template: 'resource-template' };
  if (!tags[kind]) throw declarationError('icon', 'names one of { tool }, { prompt }, { resource }, { template }');
  addIcons({ tag: tags[kind], val }, icons, `icons of ${kind} \`${val}\``);
}

// --- the plugin as the host sees it ---

export function meta() {
  const d = getPackageDefaults() ?? {};
  return {
    name: state.meta.name ?? d.name,
    version: state.meta.version ?? d.version ?? '0.0.0',
    description: state.meta.description ?? d.description,
  };
}

/** Every problem the host would refuse the plugin for. */
export function problems() {
  const out = [];
  const m = meta();
  if (m.name === undefined) out.push('the plugin has no name: set "name" in package.json or call plugin({ name })');
  else {
    const p = nameProblem(m.name, 32);
    if (p) out.push(`plugin name \`${m.name}\` ${p} (set a valid one with plugin({ name }))`);
  }
  for (const t of state.tools) {
    if (m.name && m.name.length + 1 + t.name.length > 64) out.push(`tool \`${t.name}\`: \`${m.name}_${t.name}\` is longer than the 64 characters the host allows`);
  }
  const promptNames = new Set(state.prompts.map((p) => p.name));
  const templates = new Set(state.templates.map((t) => t.uriTemplate));
  for (const c of state.completions) {
    if (c.target.tag === 'prompt' && !promptNames.has(c.target.val)) out.push(`completion for prompt \`${c.target.val}\`: no such prompt`);
    if (c.target.tag === 'resource-template' && !templates.has(c.target.val)) out.push(`completion for template \`${c.target.val}\`: no such resource template`);
  }
  return out;
}

export function describe() {
  const found = problems();
  if (found.length) throw new Error(`the plugin is invalid:\n  - ${found.join('\n  - ')}`);
  const m = meta();
  return {
    name: m.name,
    version: m.version,
    description: m.description,
    tools: state.tools.map(({ name, title, description, inputSchema, outputSchema, annotations }) => ({ name, title, description, inputSchema, outputSchema, annotations })),
    resources: state.resources.map(({ uri, name, title, description, mimeType }) => ({ uri, name, title, description, mimeType, size: undefined })),
    resourceTemplates: state.templates.map(({ uriTemplate, name, title, description, mimeType }) => ({ uriTemplate, name, title, description, mimeType })),
  };
}

function makeContext(context) {
  return {
    requestId: context?.requestId,
    clientName: context?.clientName,
    clientVersion: context?.clientVersion,
    reportProgress(progress, total, message) {
      hostProgress(progress, total, message);
    },
  };
}

function describeThrown(error) {
  if (error instanceof Error) return `${error.name || 'Error'}: ${error.message}`;
  if (error && typeof error === 'object' && 'tag' in error) return `${error.tag}${error.val !== undefined ? `: ${error.val}` : ''}`;
  try {
    return typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

/** Whether `v` is a promise or promise-like (shared with testing.js). */
export function isThenable(v) {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';
}

/** Turns what `run` returned into a WIT tool-result, or throws a call-error. */
function toToolResult(value, toolName) {
  if (value instanceof ToolOutput) {
    const content = [...value.content];
    let structured;
    if (value.structuredContent !== undefined) {
      structured = encode(value.structuredContent, toolName);
      if (!content.length) content.push({ tag: 'text', val: structured });
    }
    return { content, structured, isError: value.isError };
  }
  if (value === undefined || value === null) return { content: [], structured: undefined, isError: false };
  if (typeof value === 'string') return { content: [{ tag: 'text', val: value }], structured: undefined, isError: false };
  const text = encode(value, toolName);
  const isObject = typeof value === 'object' && !Array.isArray(value);
  return { content: [{ tag: 'text', val: text }], structured: isObject ? text : undefined, isError: false };
}

function encode(value, toolName) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw { tag: 'failed', val: `tool \`${toolName}\` returned a value that cannot be written as JSON: ${e.message}` };
  }
  if (text === undefined) throw { tag: 'failed', val: `tool \`${toolName}\` returned a ${typeof value}, which cannot be written as JSON` };
  return text;
}

function errorToCallResult(error, toolName) {
  if (error instanceof ToolError) {
    if (error.kind === 'result') return { content: [{ tag: 'text', val: error.message }], structured: undefined, isError: true };
    throw { tag: error.kind, val: error.message };
  }
  if (error && error.name === 'KvError') throw { tag: 'failed', val: error.message };
  throw { tag: 'failed', val: `tool \`${toolName}\` threw ${describeThrown(error)}` };
}

/** The `call-tool` export: returns a tool-result or throws a call-error ({ tag, val }). */
export function callTool(name, argumentsJson, context) {
  const t = state.tools.find((x) => x.name === name);
  if (!t) {
    throw { tag: 'unknown-tool', val: `plugin \`${meta().name}\` has no tool \`${name}\`; it has: ${state.tools.map((x) => x.name).join(', ')}` };
  }
  let args;
  try {
    args = argumentsJson === undefined || argumentsJson === '' ? {} : JSON.parse(argumentsJson);
  } catch (e) {
    throw { tag: 'invalid-arguments', val: `the arguments are not JSON: ${e.message}` };
  }
  if (args === null || typeof args !== 'object' || Array.isArray(args)) throw { tag: 'invalid-arguments', val: 'the arguments must be a JSON object' };
  if (t.zod) {
    const parsed = t.zod.safeParse(args);
    if (!parsed.success) throw { tag: 'invalid-arguments', val: formatZodIssues(parsed.error) || 'the arguments do not fit the schema' };
    args = parsed.data;
  }
  let value;
  try {
    value = t.run(args, makeContext(context));
  } catch (error) {
    return errorToCallResult(error, name);
  }
  // An async `run`: componentize-js runs the event loop until the returned promise settles.
  if (isThenable(value)) return Promise.resolve(value).then((v) => toToolResult(v, name), (e) => errorToCallResult(e, name));
  return toToolResult(value, name);
}

/** The `read-resource` export: returns resource-contents or throws a read-error. */
export function readResource(uri, context) {
  const ctx = { ...makeContext(context), uri };
  const r = state.resources.find((x) => x.uri === uri);
  let run;
  let mime;
  let what;
  if (r) {
    run = () => r.read(ctx);
    mime = r.mimeType;
    what = `resource \`${uri}\``;
  } else {
    for (const t of state.templates) {
      const params = t.matcher(uri);
      if (params) {
        run = () => t.read(params, ctx);
        mime = t.mimeType;
        what = `resource template \`${t.uriTemplate}\``;
        break;
      }
    }
  }
  if (!run) throw { tag: 'not-found', val: `plugin \`${meta().name}\` has no resource \`${uri}\`` };
  const failed = (error) => {
    if (error instanceof ResourceError) throw { tag: error.kind, val: error.message };
    throw { tag: 'failed', val: `${what} threw ${describeThrown(error)}` };
  };
  const contents = (value) => {
    try {
      const list = Array.isArray(value) ? value : [value];
      return list.map((v) => resourceContents(v, uri, mime));
    } catch (e) {
      throw { tag: 'failed', val: `${what}: ${e.message}` };
    }
  };
  let value;
  try {
    value = run();
  } catch (error) {
    failed(error);
  }
  if (isThenable(value)) return Promise.resolve(value).then(contents, failed);
  return contents(value);
}

// --- events ---

export function interests() {
  const kinds = new Set(state.hooks.flatMap((h) => h.kinds));
  return EVENT_KINDS.filter((k) => kinds.has(k));
}

function friendlyEvent(event) {
  const { tag, val } = event;
  switch (tag) {
    case 'plugin-loaded':
      return { kind: tag, plugin: val.plugin, version: val.version };
    case 'plugin-reloaded':
      return { kind: tag, plugin: val.plugin, from: val.from, to: val.to };
    case 'plugin-unloaded':
      return { kind: tag, plugin: val };
    case 'plugin-load-failed':
      return { kind: tag, file: val.file, error: val.error };
    case 'config-applied':
      return { kind: tag };
    case 'config-rejected':
      return { kind: tag, reason: val };
    case 'tool-called':
      return { kind: tag, plugin: val.plugin, tool: val.tool, durationUs: Number(val.durationUs), outcome: val.outcome };
    default:
      return { kind: tag, value: val };
  }
}

export function deliverEvent(event) {
  const e = friendlyEvent(event);
  const failed = (error) =>
    hostLog('error', 'an event hook threw', [
      ['event', e.kind],
      ['error', describeThrown(error)],
    ]);
  const pending = [];
  for (const h of state.hooks) {
    if (!h.kinds.includes(e.kind)) continue;
    try {
      const r = h.handler(e);
      if (isThenable(r)) pending.push(Promise.resolve(r).then(undefined, failed));
    } catch (error) {
      failed(error);
    }
  }
  if (pending.length) return Promise.all(pending).then(() => undefined);
}

export function getNeeds() {
  return { folders: [...state.needs.folders], env: [...state.needs.env], network: [...state.needs.network] };
}

// --- prompts ---

export function listPrompts() {
  return state.prompts.map(({ name, title, description, arguments: args }) => ({ name, title, description, arguments: args.map((a) => ({ ...a })) }));
}

function toMessage(m, what) {
  if (typeof m === 'string') return { role: 'user', content: Content.text(m) };
  if (m && (m.role === 'user' || m.role === 'assistant')) {
    const content = typeof m.content === 'string' ? Content.text(m.content) : m.content;
    if (!content || typeof content.tag !== 'string') throw new TypeError(`${what}: a message's content must be text or a Content block`);
    return { role: m.role, content };
  }
  throw new TypeError(`${what}: a message is a string or { role: "user" | "assistant", content }`);
}

export function getPrompt(name, argPairs, context) {
  const p = state.prompts.find((x) => x.name === name);
  if (!p) throw { tag: 'unknown-prompt', val: `plugin \`${meta().name}\` has no prompt \`${name}\`` };
  const args = Object.fromEntries(argPairs);
  for (const a of p.arguments) {
    if (a.required && args[a.name] === undefined) throw { tag: 'invalid-arguments', val: `the prompt needs the argument \`${a.name}\`` };
  }
  const what = `prompt \`${name}\``;
  const failed = (error) => {
    if (error instanceof ToolError) throw { tag: error.kind === 'invalid-arguments' ? 'invalid-arguments' : 'failed', val: error.message };
    throw { tag: 'failed', val: `${what} threw ${describeThrown(error)}` };
  };
  const result = (value) => {
    let description;
    let messages;
    if (typeof value === 'string' || Array.isArray(value)) messages = typeof value === 'string' ? [value] : value;
    else if (value && Array.isArray(value.messages)) ({ description, messages } = value);
    else throw new TypeError('get must return a string, an array of messages, or { description?, messages }');
    return { description, messages: messages.map((m) => toMessage(m, what)) };
  };
  try {
    const value = p.get(args, makeContext(context));
    if (isThenable(value)) return Promise.resolve(value).then(result).then(undefined, failed);
    return result(value);
  } catch (error) {
    failed(error);
  }
}

// --- completion ---

export function complete(target, argument, value, chosenPairs) {
  const c = state.completions.find((x) => x.target.tag === target.tag && x.target.val === target.val && (x.argument === undefined || x.argument === argument));
  if (!c) return { values: [], total: undefined, hasMore: false };
  let r;
  try {
    r = c.complete(argument, value, Object.fromEntries(chosenPairs));
  } catch (error) {
    throw describeThrown(error);
  }
  if (Array.isArray(r)) return { values: r.map(String), total: r.length, hasMore: false };
  if (r && Array.isArray(r.values)) return { values: r.values.map(String), total: r.total, hasMore: Boolean(r.hasMore) };
  throw 'a completion must return an array of strings or { values, total?, hasMore? }';
}

export function getIcons() {
  return state.icons.map(([item, list]) => [item, list]);
}

/** The objects a component exports, named after the WIT interfaces. */
export const witExports = {
  guest: { describe, callTool, readResource },
  events: { interests, onEvent: deliverEvent },
  needs: { needs: getNeeds },
  prompts: { listPrompts, getPrompt },
  completion: { complete },
  icons: { icons: getIcons },
};
