/// <reference path="./berth-plugin-types.d.ts" />
declare module 'berth:plugin/guest@0.3.0' {
  /**
   * The plugin's manifest. Must be cheap and deterministic: the host calls it once
   * per load, in a fresh instance.
   */
  export function describe(): Manifest;
  /**
   * Runs tool `name` with `arguments`, a JSON object as text that the host has already
   * validated against the tool's input schema.
   */
  export function callTool(name: string, arguments: string, context: CallContext): ToolResult;
  /**
   * Reads the resource at `uri`: one of the plugin's static resources, or a URI that
   * matches one of its templates.
   */
  export function readResource(uri: string, context: CallContext): Array<ResourceContents>;
  export type Manifest = import('berth:plugin/types@0.3.0').Manifest;
  export type CallContext = import('berth:plugin/types@0.3.0').CallContext;
  export type ToolResult = import('berth:plugin/types@0.3.0').ToolResult;
  export type CallError = import('berth:plugin/types@0.3.0').CallError;
  export type ResourceContents = import('berth:plugin/types@0.3.0').ResourceContents;
  export type ReadError = import('berth:plugin/types@0.3.0').ReadError;
}
