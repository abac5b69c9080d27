declare module 'berth:plugin/resources@0.3.0' {
  /**
   * Says that the contents of the resource at `uri`, one this plugin serves (a static
   * resource or a URI matching one of its templates), changed. Clients that subscribed
   * to `uri` get `notifications/resources/updated`; a URI the plugin does not serve is
   * ignored. Never blocks and never fails; may be called during any call or event.
   */
  export function changed(uri: string): void;
}
