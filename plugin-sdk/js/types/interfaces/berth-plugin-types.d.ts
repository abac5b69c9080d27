declare module 'berth:plugin/types@0.3.0' {
  /**
   * Severity of a log record, from most to least verbose.
   * # Variants
   * 
   * ## `"trace"`
   * 
   * ## `"debug"`
   * 
   * ## `"info"`
   * 
   * ## `"warn"`
   * 
   * ## `"error"`
   */
  export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /**
   * Behaviour hints for a tool (MCP tool annotations). They are hints for clients,
   * never guarantees the host enforces.
   */
  export interface ToolAnnotations {
    /**
     * The tool does not modify its environment.
     */
    readOnly?: boolean,
    /**
     * The tool may perform destructive updates.
     */
    destructive?: boolean,
    /**
     * Calling the tool repeatedly with the same arguments has no additional effect.
     */
    idempotent?: boolean,
    /**
     * The tool interacts with an open world of external entities.
     */
    openWorld?: boolean,
  }
  /**
   * One tool a plugin offers.
   */
  export interface Tool {
    /**
     * Name, unique within the plugin: `[a-zA-Z0-9_-]`, 1 to 64 characters.
     * The host shows it to clients prefixed with the plugin name.
     */
    name: string,
    /**
     * Human-readable display name.
     */
    title?: string,
    /**
     * What the tool does, for the model that decides to call it.
     */
    description: string,
    /**
     * JSON Schema of the arguments object, as JSON text. Its type must be `object`.
     */
    inputSchema: string,
    /**
     * JSON Schema of the structured result, as JSON text, if the tool returns one.
     */
    outputSchema?: string,
    /**
     * Behaviour hints.
     */
    annotations: ToolAnnotations,
  }
  /**
   * A static resource with a fixed URI.
   */
  export interface Resource {
    /**
     * Absolute URI, unique across all plugins of a host.
     */
    uri: string,
    /**
     * Short machine-friendly name.
     */
    name: string,
    /**
     * Human-readable display name.
     */
    title?: string,
    /**
     * What the resource holds.
     */
    description?: string,
    /**
     * MIME type of its contents, if known.
     */
    mimeType?: string,
    /**
     * Size in bytes, if known.
     */
    size?: bigint,
  }
  /**
   * A family of resources addressed by an RFC 6570 URI template.
   */
  export interface ResourceTemplate {
    /**
     * RFC 6570 URI template, e.g. `notes://notes/{name}`.
     */
    uriTemplate: string,
    /**
     * Short machine-friendly name.
     */
    name: string,
    /**
     * Human-readable display name.
     */
    title?: string,
    /**
     * What the resources hold.
     */
    description?: string,
    /**
     * MIME type of the resources, if they share one.
     */
    mimeType?: string,
  }
  /**
   * Everything a plugin offers; returned by `guest.describe`.
   */
  export interface Manifest {
    /**
     * Plugin name: `[a-zA-Z0-9_-]`, 1 to 32 characters. Prefixes its tool names.
     */
    name: string,
    /**
     * Plugin version, semver (e.g. `1.2.0`).
     */
    version: string,
    /**
     * What the plugin is for.
     */
    description?: string,
    /**
     * Tools, in the order they should be listed.
     */
    tools: Array<Tool>,
    /**
     * Static resources.
     */
    resources: Array<Resource>,
    /**
     * Resource templates.
     */
    resourceTemplates: Array<ResourceTemplate>,
  }
  /**
   * Facts about the request a call serves.
   */
  export interface CallContext {
    /**
     * JSON-RPC id of the client's request, as text, if there is one.
     */
    requestId?: string,
    /**
     * Name the client gave in its `initialize` request, if known.
     */
    clientName?: string,
    /**
     * Version the client gave in its `initialize` request, if known.
     */
    clientVersion?: string,
  }
  /**
   * Binary data with its MIME type.
   */
  export interface Media {
    /**
     * The bytes (the host base64-encodes them for the client).
     */
    data: Uint8Array,
    /**
     * MIME type, e.g. `image/png`.
     */
    mimeType: string,
  }
  /**
   * The body of a resource: text or bytes.
   */
  export type ResourceBody = ResourceBodyText | ResourceBodyBlob;
  /**
   * UTF-8 text.
   */
  export interface ResourceBodyText {
    tag: 'text',
    val: string,
  }
  /**
   * Arbitrary bytes.
   */
  export interface ResourceBodyBlob {
    tag: 'blob',
    val: Uint8Array,
  }
  /**
   * The contents of one resource.
   */
  export interface ResourceContents {
    /**
     * The URI these contents belong to.
     */
    uri: string,
    /**
     * MIME type, if known.
     */
    mimeType?: string,
    /**
     * Text or bytes.
     */
    body: ResourceBody,
  }
  /**
   * A pointer to a resource the client can read or subscribe to.
   */
  export interface ResourceLink {
    /**
     * URI of the linked resource.
     */
    uri: string,
    /**
     * Short machine-friendly name.
     */
    name: string,
    /**
     * Human-readable display name.
     */
    title?: string,
    /**
     * What the resource holds.
     */
    description?: string,
    /**
     * MIME type, if known.
     */
    mimeType?: string,
  }
  /**
   * One block of a tool result.
   */
  export type ContentBlock = ContentBlockText | ContentBlockImage | ContentBlockAudio | ContentBlockResourceLink | ContentBlockResource;
  /**
   * Text for the model.
   */
  export interface ContentBlockText {
    tag: 'text',
    val: string,
  }
  /**
   * An image.
   */
  export interface ContentBlockImage {
    tag: 'image',
    val: Media,
  }
  /**
   * An audio clip.
   */
  export interface ContentBlockAudio {
    tag: 'audio',
    val: Media,
  }
  /**
   * A link to a resource.
   */
  export interface ContentBlockResourceLink {
    tag: 'resource-link',
    val: ResourceLink,
  }
  /**
   * A resource embedded in the result (text or blob, with its MIME type).
   */
  export interface ContentBlockResource {
    tag: 'resource',
    val: ResourceContents,
  }
  /**
   * The outcome of a tool call that ran.
   */
  export interface ToolResult {
    /**
     * Unstructured content blocks.
     */
    content: Array<ContentBlock>,
    /**
     * Structured result: a JSON object as text, matching the tool's output schema.
     */
    structured?: string,
    /**
     * True when the tool failed in a way the model should see and may correct.
     */
    isError: boolean,
  }
  /**
   * Why a tool call could not produce a result.
   */
  export type CallError = CallErrorUnknownTool | CallErrorInvalidArguments | CallErrorFailed;
  /**
   * The plugin has no tool by that name.
   */
  export interface CallErrorUnknownTool {
    tag: 'unknown-tool',
    val: string,
  }
  /**
   * The arguments do not fit the tool: says which field and why.
   */
  export interface CallErrorInvalidArguments {
    tag: 'invalid-arguments',
    val: string,
  }
  /**
   * The tool failed: says what went wrong.
   */
  export interface CallErrorFailed {
    tag: 'failed',
    val: string,
  }
  /**
   * Why a resource could not be read.
   */
  export type ReadError = ReadErrorNotFound | ReadErrorFailed;
  /**
   * No resource of this plugin has that URI.
   */
  export interface ReadErrorNotFound {
    tag: 'not-found',
    val: string,
  }
  /**
   * The resource exists but reading it failed.
   */
  export interface ReadErrorFailed {
    tag: 'failed',
    val: string,
  }
}
