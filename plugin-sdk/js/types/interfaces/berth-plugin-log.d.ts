/// <reference path="./berth-plugin-types.d.ts" />
declare module 'berth:plugin/log@0.3.0' {
  /**
   * Records `message` with structured `fields` (key, value) at `level`.
   * Records below the host's level for the plugin are dropped cheaply.
   */
  export function log(level: Level, message: string, fields: Array<[string, string]>): void;
  export type Level = import('berth:plugin/types@0.3.0').Level;
}
