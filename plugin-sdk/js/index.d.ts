// Types of @berth/plugin-sdk. The WIT-shaped types come from ./types, generated from the
// contract (`berth:plugin/full@0.3.0`) by `npm run gen-types` (jco guest types).
/// <reference path="./types/full.d.ts" />

export type ContentBlock = import('berth:plugin/types@0.3.0').ContentBlock;
export type ResourceContents = import('berth:plugin/types@0.3.0').ResourceContents;
export type Manifest = import('berth:plugin/types@0.3.0').Manifest;
export type ToolResult = import('berth:plugin/types@0.3.0').ToolResult;
export type CallErrorVariant = import('berth:plugin/types@0.3.0').CallError;
export type Level = import('berth:plugin/types@0.3.0').Level;
export type EventKind = import('berth:plugin/events@0.3.0').EventKind;
export type CallOutcome = import('berth:plugin/events@0.3.0').CallOutcome;
export type PromptArgumentWit = import('berth:plugin/prompts@0.3.0').Argument;
export type Requirements = import('berth:plugin/needs@0.3.0').Requirements;
export type Folder = import('berth:plugin/needs@0.3.0').Folder;
export type Theme = import('berth:plugin/icons@0.3.0').Theme;
export type SamplingResponse = import('berth:plugin/client@0.3.0').SamplingResponse;
export type ElicitAction = import('berth:plugin/client@0.3.0').ElicitAction;
export type ModelPreferences = import('berth:plugin/client@0.3.0').ModelPreferences;

/** A JSON Schema object (the arguments' schema must have `type: "object"`). */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  description?: string;
  [key: string]: unknown;
}

/** A zod 4 schema (zod is an optional peer dependency; only its shape is used). */
export interface ZodLike<Out = unknown> {
  safeParse(value: unknown): unknown;
  readonly _zod: { output: Out };
}

type InferInput<I> = I extends ZodLike<infer O> ? O : I extends { properties: infer P } ? { [K in keyof P]?: any } & Record<string, any> : Record<string, any>;

/** The call a tool, resource or prompt serves. */
export interface Context {
  /** JSON-RPC id of the client's request, as text. */
  requestId?: string;
  clientName?: string;
  clientVersion?: string;
  /** Reports how far the call got (forwarded when the client asked for progress). */
  reportProgress(progress: number, total?: number, message?: string): void;
}

export interface ResourceContext extends Context {
  /** The URI being read. */
  uri: string;
}

export interface Annotations {
  readOnly?: boolean;
  destructive?: boolean;
  idempotent?: boolean;
  openWorld?: boolean;
}

/** An icon: an `https:` URL or a `data:` URI, or the full form. */
export type IconSpec = string | { src: string; mimeType?: string; sizes?: string | string[]; theme?: Theme };

/**
 * What a tool may return: a string (one text block), undefined/null (no content), a
 * ToolOutput, or any JSON value (JSON text, plus structured content when an object), or a
 * Promise of one of these.
 */
export type ToolReturn = string | null | undefined | void | ToolOutput | number | boolean | object;

export interface ToolDefinition<I extends JsonSchema | ZodLike = JsonSchema> {
  /** `[a-zA-Z0-9_-]{1,64}`, unique in the plugin; clients see `<plugin>_<name>`. */
  name: string;
  title?: string;
  /** What the tool does, for the model. */
  description: string;
  /** The arguments: a JSON Schema with `type: "object"`, or a zod object schema. */
  input?: I;
  /** JSON Schema (or zod schema) of the structured result. */
  output?: JsonSchema | ZodLike;
  annotations?: Annotations;
  icons?: IconSpec | IconSpec[];
  run(args: InferInput<I>, ctx: Context): ToolReturn | Promise<ToolReturn>;
}

/** Declares a tool. Throws a TypeError naming the problem when the declaration is invalid. */
export function tool<I extends JsonSchema | ZodLike>(def: ToolDefinition<I>): ToolDefinition<I>;

/** Contents a resource read returns: text, bytes, or explicit contents; or a list of them. */
export type ResourceValue = string | Uint8Array | { uri?: string; mimeType?: string; text: string } | { uri?: string; mimeType?: string; blob: Uint8Array | string };
export type ReadReturn = ResourceValue | ResourceValue[];

export function resource(def: {
  uri: string;
  name: string;
  title?: string;
  description?: string;
  mimeType?: string;
  icons?: IconSpec | IconSpec[];
  read(ctx: ResourceContext): ReadReturn | Promise<ReadReturn>;
}): typeof def;

/** A family of resources; `{var}` matches one path segment, `{+var}` the rest. */
export function resourceTemplate(def: {
  uriTemplate: string;
  name: string;
  title?: string;
  description?: string;
  mimeType?: string;
  icons?: IconSpec | IconSpec[];
  read(params: Record<string, string>, ctx: ResourceContext): ReadReturn | Promise<ReadReturn>;
}): typeof def;

export interface PromptArgument {
  name: string;
  title?: string;
  description?: string;
  /** Default true. */
  required?: boolean;
}

export type Role = 'user' | 'assistant';
/** A message: a string is a user text message. */
export type MessageSpec = string | { role: Role; content: string | ContentBlock };
export type PromptReturn = string | MessageSpec[] | { description?: string; messages: MessageSpec[] };

export function prompt(def: {
  name: string;
  title?: string;
  description?: string;
  arguments?: (PromptArgument | string)[];
  icons?: IconSpec | IconSpec[];
  get(args: Record<string, string>, ctx: Context): PromptReturn | Promise<PromptReturn>;
}): typeof def;

export interface Completions {
  values: string[];
  total?: number;
  hasMore?: boolean;
}

/** Suggestions for a prompt argument (`prompt`) or a template variable (`template`). */
export function completion(def: {
  prompt?: string;
  template?: string;
  /** Only this argument (default: every argument of the target). */
  argument?: string;
  complete(argument: string, value: string, chosen: Record<string, string>): string[] | Completions;
}): typeof def;

export type Event =
  | { kind: 'plugin-loaded'; plugin: string; version: string }
  | { kind: 'plugin-reloaded'; plugin: string; from: string; to: string }
  | { kind: 'plugin-unloaded'; plugin: string }
  | { kind: 'plugin-load-failed'; file: string; error: string }
  | { kind: 'config-applied' }
  | { kind: 'config-rejected'; reason: string }
  | { kind: 'tool-called'; plugin: string; tool: string; durationUs: number; outcome: CallOutcome };

export const EVENT_KINDS: EventKind[];

/** Calls `handler` for host events of the given kinds (each in a fresh instance). */
export function onEvent<K extends EventKind>(kinds: K | K[], handler: (event: Extract<Event, { kind: K }>) => void | Promise<void>): void;

/** Declares what the plugin needs from the operator. */
export function needs(requirements: { folders?: { path: string; write?: boolean; reason: string }[]; env?: string[]; network?: string[] }): void;

/** Adds icons to an item. */
export function icon(item: { tool: string } | { prompt: string } | { resource: string } | { template: string }, icons: IconSpec | IconSpec[]): void;

/** Name (`[a-zA-Z0-9_-]{1,32}`), version and description; default: package.json's. */
export function plugin(meta: { name?: string; version?: string; description?: string }): void;

/** A tool failure: `new ToolError(msg)` is a result with isError the model sees. */
export class ToolError extends Error {
  constructor(message: string, kind?: 'result' | 'invalid-arguments' | 'failed');
  readonly kind: 'result' | 'invalid-arguments' | 'failed';
  /** call-error invalid-arguments: say which field and why. */
  static invalidArguments(message: string): ToolError;
  /** call-error failed. */
  static failed(message: string): ToolError;
  /** Same as `new ToolError(message)`. */
  static result(message: string): ToolError;
}

export class ResourceError extends Error {
  constructor(message: string, kind?: 'not-found' | 'failed');
  readonly kind: 'not-found' | 'failed';
  static notFound(message: string): ResourceError;
  static failed(message: string): ResourceError;
}

/** Bytes, or base64 text. */
export type Data = Uint8Array | ArrayBuffer | string;

export const Content: {
  text(text: string): ContentBlock;
  image(data: Data, mimeType: string): ContentBlock;
  audio(data: Data, mimeType: string): ContentBlock;
  link(link: { uri: string; name: string; title?: string; description?: string; mimeType?: string }): ContentBlock;
  resource(contents: { uri: string; mimeType?: string; text: string } | { uri: string; mimeType?: string; blob: Data }): ContentBlock;
};

/** A rich result, built step by step. */
export class ToolOutput {
  content: ContentBlock[];
  structuredContent: unknown;
  isError: boolean;
  static text(text: string): ToolOutput;
  static json(value: object): ToolOutput;
  text(text: string): this;
  image(data: Data, mimeType: string): this;
  audio(data: Data, mimeType: string): this;
  link(link: { uri: string; name: string; title?: string; description?: string; mimeType?: string }): this;
  resource(contents: { uri: string; mimeType?: string; text: string } | { uri: string; mimeType?: string; blob: Data }): this;
  /** Structured content (a JSON object); a text block with its JSON is added when there is no other content. */
  json(value: object): this;
  error(flag?: boolean): this;
}

type Fields = Record<string, unknown> | [string, unknown][];

export const log: {
  trace(message: string, fields?: Fields): void;
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  log(level: Level, message: string, fields?: Fields): void;
};

export const config: {
  get(key: string): string | undefined;
  entries(): [string, string][];
};

export const progress: { report(progress: number, total?: number, message?: string): void };
export const resources: { changed(uri: string): void };

export class ClientError extends Error {
  readonly kind: 'unavailable' | 'invalid-request' | 'rejected';
}

export const client: {
  sample(request: {
    messages: MessageSpec[];
    systemPrompt?: string;
    maxTokens?: number;
    temperature?: number;
    stopSequences?: string[];
    modelPreferences?: Partial<ModelPreferences>;
  }): SamplingResponse & { text?: string };
  elicit(message: string, requestedSchema: JsonSchema | string): { action: ElicitAction; content?: Record<string, unknown> };
};

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export class KvError extends Error {
  readonly kind: 'not-granted' | 'disabled' | 'store' | 'decode' | 'encode';
  readonly bucket?: string;
  readonly key?: string;
}

/** One bucket of the plugin's state; values are stored as JSON. */
export class Bucket {
  readonly name: string;
  get<T = JsonValue>(key: string): T | undefined;
  set(key: string, value: unknown): void;
  getBytes(key: string): Uint8Array | undefined;
  setBytes(key: string, value: Uint8Array): void;
  delete(key: string): void;
  exists(key: string): boolean;
  keys(): string[];
  increment(key: string, delta?: number): number;
  getMany<T = JsonValue>(keys: string[]): (T | undefined)[];
  setMany(entries: Record<string, unknown> | [string, unknown][]): void;
  deleteMany(keys: string[]): void;
}

/** State (needs `"berth": { "keyvalue": true }` in package.json and a grant). */
export const kv: {
  open(bucket: string): Bucket;
  KvError: typeof KvError;
};
