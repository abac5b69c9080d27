declare module 'berth:plugin/events@0.3.0' {
  /**
   * The kinds of event the plugin wants. The host calls it once per load, in a fresh
   * instance, right after `describe`; a trap here refuses the load as one in `describe`
   * does. An empty list means `on-event` is never called.
   */
  export function interests(): Array<EventKind>;
  /**
   * Receives one event of a kind `interests` listed. Runs in a fresh instance, so the
   * plugin keeps no state between events; what it can do is log, or compute.
   */
  export function onEvent(event: Event): void;
  /**
   * The kinds of event, for `interests`.
   * # Variants
   * 
   * ## `"plugin-loaded"`
   * 
   * A plugin file was loaded and is now served.
   * ## `"plugin-reloaded"`
   * 
   * A served plugin was replaced by a new build of its file.
   * ## `"plugin-unloaded"`
   * 
   * A plugin stopped being served.
   * ## `"plugin-load-failed"`
   * 
   * A plugin file could not be loaded.
   * ## `"config-applied"`
   * 
   * A new host configuration was put in force.
   * ## `"config-rejected"`
   * 
   * A changed host configuration was refused.
   * ## `"tool-called"`
   * 
   * A tool call (of any plugin) finished.
   */
  export type EventKind = 'plugin-loaded' | 'plugin-reloaded' | 'plugin-unloaded' | 'plugin-load-failed' | 'config-applied' | 'config-rejected' | 'tool-called';
  /**
   * How a tool call ended.
   * # Variants
   * 
   * ## `"success"`
   * 
   * The tool answered normally.
   * ## `"tool-error"`
   * 
   * The tool answered with an error result (`is-error`) or its own `call-error`.
   * ## `"invalid-arguments"`
   * 
   * The arguments did not match the tool's input schema; the tool never ran.
   * ## `"crashed"`
   * 
   * The plugin trapped or could not be instantiated.
   * ## `"timed-out"`
   * 
   * The call ran past the host's time limit and was stopped.
   * ## `"cancelled"`
   * 
   * The client cancelled the call.
   */
  export type CallOutcome = 'success' | 'tool-error' | 'invalid-arguments' | 'crashed' | 'timed-out' | 'cancelled';
  /**
   * A plugin that is now served.
   */
  export interface PluginLoaded {
    /**
     * Plugin name.
     */
    plugin: string,
    /**
     * Its version.
     */
    version: string,
  }
  /**
   * A plugin replaced by a new build.
   */
  export interface PluginReloaded {
    /**
     * Plugin name.
     */
    plugin: string,
    /**
     * The version replaced.
     */
    from: string,
    /**
     * The version now served.
     */
    to: string,
  }
  /**
   * A plugin file the host could not load; whatever was served before stays served.
   */
  export interface PluginLoadFailed {
    /**
     * The file's name, without its folder (e.g. `text.wasm`).
     */
    file: string,
    /**
     * Why, as the host's log says it, with host paths reduced to their last component.
     */
    error: string,
  }
  /**
   * A finished tool call.
   */
  export interface ToolCalled {
    /**
     * The plugin that served it.
     */
    plugin: string,
    /**
     * The tool's name inside that plugin (without the plugin prefix).
     */
    tool: string,
    /**
     * Wall time of the plugin's call in microseconds; zero when no plugin code ran.
     */
    durationUs: bigint,
    /**
     * How it ended.
     */
    outcome: CallOutcome,
  }
  /**
   * Something that happened in the host.
   */
  export type Event = EventPluginLoaded | EventPluginReloaded | EventPluginUnloaded | EventPluginLoadFailed | EventConfigApplied | EventConfigRejected | EventToolCalled;
  /**
   * A plugin file was loaded and is now served.
   */
  export interface EventPluginLoaded {
    tag: 'plugin-loaded',
    val: PluginLoaded,
  }
  /**
   * A served plugin was replaced by a new build of its file.
   */
  export interface EventPluginReloaded {
    tag: 'plugin-reloaded',
    val: PluginReloaded,
  }
  /**
   * A plugin stopped being served (its file went away or the configuration disabled
   * it); carries the plugin name.
   */
  export interface EventPluginUnloaded {
    tag: 'plugin-unloaded',
    val: string,
  }
  /**
   * A plugin file could not be loaded.
   */
  export interface EventPluginLoadFailed {
    tag: 'plugin-load-failed',
    val: PluginLoadFailed,
  }
  /**
   * A new host configuration was put in force.
   */
  export interface EventConfigApplied {
    tag: 'config-applied',
  }
  /**
   * A changed host configuration was refused and the previous one stays in force;
   * carries why, with host paths reduced to their last component.
   */
  export interface EventConfigRejected {
    tag: 'config-rejected',
    val: string,
  }
  /**
   * A tool call finished.
   */
  export interface EventToolCalled {
    tag: 'tool-called',
    val: ToolCalled,
  }
}
