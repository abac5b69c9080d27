/// <reference path="./berth-plugin-chat.d.ts" />
/// <reference path="./berth-plugin-types.d.ts" />
declare module 'berth:plugin/prompts@0.3.0' {
  /**
   * The plugin's prompts, in listing order. Must be cheap and deterministic.
   */
  export function listPrompts(): Array<Prompt>;
  /**
   * Fills in prompt `name` with `arguments` (name, value), which hold every required
   * argument and no argument the prompt does not declare.
   */
  export function getPrompt(name: string, arguments: Array<[string, string]>, context: CallContext): PromptResult;
  export type CallContext = import('berth:plugin/types@0.3.0').CallContext;
  export type Message = import('berth:plugin/chat@0.3.0').Message;
  /**
   * One argument of a prompt. Values are always strings.
   */
  export interface Argument {
    /**
     * Name, unique within the prompt.
     */
    name: string,
    /**
     * Human-readable display name.
     */
    title?: string,
    /**
     * What the value should be.
     */
    description?: string,
    /**
     * Whether the client must supply it. The host refuses a `get` that lacks a
     * required argument before the plugin runs.
     */
    required: boolean,
  }
  /**
   * One prompt a plugin offers.
   */
  export interface Prompt {
    /**
     * Name, unique within the plugin: `[a-zA-Z0-9_-]`, 1 to 64 characters. The host
     * shows it to clients with the same prefix as the plugin's tools.
     */
    name: string,
    /**
     * Human-readable display name.
     */
    title?: string,
    /**
     * What the prompt is for.
     */
    description?: string,
    /**
     * Its arguments, in the order a client should ask for them.
     */
    arguments: Array<Argument>,
  }
  /**
   * A filled-in prompt.
   */
  export interface PromptResult {
    /**
     * What this particular result is, if it differs from the prompt's description.
     */
    description?: string,
    /**
     * The messages, in conversation order.
     */
    messages: Array<Message>,
  }
  /**
   * Why a prompt could not be filled in.
   */
  export type PromptError = PromptErrorUnknownPrompt | PromptErrorInvalidArguments | PromptErrorFailed;
  /**
   * The plugin has no prompt by that name.
   */
  export interface PromptErrorUnknownPrompt {
    tag: 'unknown-prompt',
    val: string,
  }
  /**
   * An argument value is not acceptable: says which and why.
   */
  export interface PromptErrorInvalidArguments {
    tag: 'invalid-arguments',
    val: string,
  }
  /**
   * Filling it in failed: says what went wrong.
   */
  export interface PromptErrorFailed {
    tag: 'failed',
    val: string,
  }
}
