declare module 'berth:plugin/config@0.3.0' {
  /**
   * The value of `key`, or none if the operator did not set it.
   */
  export function get(key: string): string | undefined;
  /**
   * Every key and value set for this plugin, sorted by key.
   */
  export function entries(): Array<[string, string]>;
}
