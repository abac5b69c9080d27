/// <reference path="./berth-plugin-chat.d.ts" />
/// <reference path="./berth-plugin-types.d.ts" />
declare module 'berth:plugin/client@0.3.0' {
  /**
   * Asks the client to sample its LLM.
   */
  export function sample(request: SamplingRequest): SamplingResponse;
  /**
   * Asks the client to ask its user for input: `message` says what and why, and
   * `requested-schema` (JSON text) is a flat JSON Schema object whose properties are
   * strings, numbers, integers, booleans or enums (MCP `elicitation/create`).
   */
  export function elicit(message: string, requestedSchema: string): ElicitResponse;
  export type Message = import('berth:plugin/chat@0.3.0').Message;
  export type Role = import('berth:plugin/chat@0.3.0').Role;
  export type ContentBlock = import('berth:plugin/types@0.3.0').ContentBlock;
  /**
   * Which model the client should prefer; every field is advisory.
   */
  export interface ModelPreferences {
    /**
     * Model names or families, most preferred first (e.g. `claude-3-5-sonnet`).
     */
    hints: Array<string>,
    /**
     * How much cost matters, 0 to 1.
     */
    costPriority?: number,
    /**
     * How much speed matters, 0 to 1.
     */
    speedPriority?: number,
    /**
     * How much capability matters, 0 to 1.
     */
    intelligencePriority?: number,
  }
  /**
   * A request for one LLM completion (MCP `sampling/createMessage`).
   */
  export interface SamplingRequest {
    /**
     * The conversation so far; contents must be text, image or audio.
     */
    messages: Array<Message>,
    /**
     * A system prompt the client may use.
     */
    systemPrompt?: string,
    /**
     * Most tokens to generate.
     */
    maxTokens: number,
    /**
     * Sampling temperature.
     */
    temperature?: number,
    /**
     * Sequences that end generation.
     */
    stopSequences: Array<string>,
    /**
     * Which model to prefer.
     */
    modelPreferences?: ModelPreferences,
  }
  /**
   * The client's completion.
   */
  export interface SamplingResponse {
    /**
     * Who speaks it (normally `assistant`).
     */
    role: Role,
    /**
     * What the model said.
     */
    content: ContentBlock,
    /**
     * The model that produced it.
     */
    model: string,
    /**
     * Why generation stopped (e.g. `endTurn`, `maxTokens`), if the client said.
     */
    stopReason?: string,
  }
  /**
   * What the user did with an elicitation.
   * # Variants
   * 
   * ## `"accept"`
   * 
   * Submitted the form; `content` holds the values.
   * ## `"decline"`
   * 
   * Explicitly declined to answer.
   * ## `"cancel"`
   * 
   * Dismissed the request without choosing.
   */
  export type ElicitAction = 'accept' | 'decline' | 'cancel';
  /**
   * The client's answer to an elicitation.
   */
  export interface ElicitResponse {
    /**
     * What the user did.
     */
    action: ElicitAction,
    /**
     * With `accept`: the submitted values as a JSON object, as text.
     */
    content?: string,
  }
  /**
   * Why a request to the client produced no answer.
   */
  export type ClientError = ClientErrorUnavailable | ClientErrorInvalidRequest | ClientErrorRejected;
  /**
   * There is no client to ask, or it did not declare the capability (`sampling`,
   * `elicitation`) in `initialize`; says which.
   */
  export interface ClientErrorUnavailable {
    tag: 'unavailable',
    val: string,
  }
  /**
   * The host refused to send the request: says what is wrong with it.
   */
  export interface ClientErrorInvalidRequest {
    tag: 'invalid-request',
    val: string,
  }
  /**
   * The client answered with an error: its message.
   */
  export interface ClientErrorRejected {
    tag: 'rejected',
    val: string,
  }
}
