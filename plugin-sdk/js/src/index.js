// @berth/plugin-sdk: write Berth MCP plugins in JavaScript or TypeScript.

import { hostLog, hostConfigGet, hostConfigEntries, hostProgress, hostResourceChanged, hostClient } from './host.js';

export { plugin, tool, resource, resourceTemplate, prompt, completion, onEvent, needs, icon, EVENT_KINDS } from './plugin.js';
export { ToolError, ResourceError, ToolOutput, Content } from './output.js';
export { kv, KvError, Bucket } from './kv.js';

/** Structured logging into the host's log. */
export const log = {
  trace: (message, fields) => hostLog('trace', message, fields),
  debug: (message, fields) => hostLog('debug', message, fields),
  info: (message, fields) => hostLog('info', message, fields),
  warn: (message, fields) => hostLog('warn', message, fields),
  error: (message, fields) => hostLog('error', message, fields),
  log: (level, message, fields) => hostLog(level, message, fields),
};

/** The values the operator configured for this plugin. */
export const config = {
  /** The value of `key`, or undefined. */
  get: (key) => hostConfigGet(key),
  /** Every [key, value], sorted by key. */
  entries: () => hostConfigEntries(),
};

/** Progress of the running call (also `ctx.reportProgress`). */
export const progress = {
  report: (progress, total, message) => hostProgress(progress, total, message),
};

/** Change notices for this plugin's resources. */
export const resources = {
  changed: (uri) => hostResourceChanged(uri),
};

/** Why a request to the client produced no answer. kind: unavailable | invalid-request | rejected. */
export class ClientError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'ClientError';
    this.kind = kind;
  }
}

function clientCall(f) {
  try {
    return f();
  } catch (e) {
    const err = e?.payload ?? e;
    if (err && typeof err.tag === 'string') throw new ClientError(err.tag, `${err.tag}: ${err.val}`);
    throw e;
  }
}

function message(m) {
  if (typeof m === 'string') return { role: 'user', content: { tag: 'text', val: m } };
  const content = typeof m.content === 'string' ? { tag: 'text', val: m.content } : m.content;
  return { role: m.role ?? 'user', content };
}

/** Requests to the client during a call. */
export const client = {
  /**
   * Asks the client's LLM: `sample({ messages: ["…"], maxTokens: 200, systemPrompt? })`.
   * Returns { role, content, text, model, stopReason }.
   */
  sample(request) {
    const r = {
      messages: (request.messages ?? []).map(message),
      systemPrompt: request.systemPrompt,
      maxTokens: request.maxTokens ?? 1000,
      temperature: request.temperature,
      stopSequences: request.stopSequences ?? [],
      modelPreferences: request.modelPreferences
        ? { hints: [], ...request.modelPreferences }
        : undefined,
    };
    const answer = clientCall(() => hostClient().sample(r));
    return { ...answer, text: answer.content?.tag === 'text' ? answer.content.val : undefined };
  },
  /** Asks the user: returns { action: 'accept' | 'decline' | 'cancel', content?: object }. */
  elicit(messageText, requestedSchema) {
    const schema = typeof requestedSchema === 'string' ? requestedSchema : JSON.stringify(requestedSchema);
    const answer = clientCall(() => hostClient().elicit(String(messageText), schema));
    return { action: answer.action, content: answer.content === undefined || answer.content === null ? undefined : JSON.parse(answer.content) };
  },
};
