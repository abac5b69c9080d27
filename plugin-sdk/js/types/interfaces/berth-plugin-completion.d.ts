declare module 'berth:plugin/completion@0.3.0' {
  /**
   * Suggests values for `argument` of `target`, given what the user typed so far
   * (`value`) and the values of the other arguments already chosen (`chosen`).
   * An argument the plugin does not complete answers with no values; an error is for a
   * failure, and the client sees its message.
   */
  export function complete(target: Target, argument: string, value: string, chosen: Array<[string, string]>): Completions;
  /**
   * What is being completed.
   */
  export type Target = TargetPrompt | TargetResourceTemplate;
  /**
   * An argument of the plugin's prompt with this (plugin-local) name.
   */
  export interface TargetPrompt {
    tag: 'prompt',
    val: string,
  }
  /**
   * A parameter of the plugin's resource template with this URI template.
   */
  export interface TargetResourceTemplate {
    tag: 'resource-template',
    val: string,
  }
  /**
   * The suggestions.
   */
  export interface Completions {
    /**
     * Candidate values, best first. The host sends at most 100.
     */
    values: Array<string>,
    /**
     * How many candidates there are in all, if known.
     */
    total?: number,
    /**
     * Whether there are more candidates than `values` holds.
     */
    hasMore: boolean,
  }
}
