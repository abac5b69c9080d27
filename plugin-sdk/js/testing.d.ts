import type { Manifest, ContentBlock, Event, Completions, Requirements } from './index.js';

export class CallError extends Error {
  /** The WIT case: unknown-tool, invalid-arguments, failed, not-found, unknown-prompt, ... */
  readonly kind: string;
  readonly detail: string;
}

export interface CallResult {
  content: ContentBlock[];
  /** The text blocks, joined with newlines. */
  text: string;
  structured?: any;
  isError: boolean;
}

export function manifest(): Manifest;
export function validate(): void;
/** A CallResult (a Promise of one for an async tool); throws/rejects with CallError. */
export function call(name: string, args?: Record<string, unknown>, context?: { requestId?: string; clientName?: string; clientVersion?: string }): CallResult | Promise<CallResult>;
export function read(uri: string): { uri: string; mimeType?: string; text?: string; blob?: Uint8Array }[] | Promise<{ uri: string; mimeType?: string; text?: string; blob?: Uint8Array }[]>;
export function interests(): string[];
export function emit(event: Event): void | Promise<void>;
export function needs(): Requirements;
export function prompts(): { name: string; title?: string; description?: string; arguments: { name: string; required: boolean }[] }[];
export function getPrompt(name: string, args?: Record<string, string>): any;
export function complete(target: { prompt: string } | { template: string }, argument: string, value: string, chosen?: Record<string, string>): Completions;
export function icons(): [unknown, unknown[]][];
export function packageDefaults(pkg: { name?: string; version?: string; description?: string }): { name?: string; version?: string; description?: string };
export function reset(): void;

export const config: { set(key: string, value: string): void; clear(): void };
export const kv: { clear(): void; enable(on?: boolean): void; deny(bucket: string): void };
export const progress: { take(): { progress: number; total?: number; message?: string }[] };
export const resources: { takeChanged(): string[] };
export const logs: { take(): { level: string; message: string; fields: Record<string, string> }[]; quiet(on?: boolean): void };
export const client: {
  onSample(fn: (request: any) => any): void;
  onElicit(fn: (message: string, schema: string) => { action: 'accept' | 'decline' | 'cancel'; content?: string }): void;
};
