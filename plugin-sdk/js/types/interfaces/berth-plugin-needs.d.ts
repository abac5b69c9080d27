declare module 'berth:plugin/needs@0.3.0' {
  /**
   * The plugin's needs.
   */
  export function needs(): Requirements;
  /**
   * A folder the plugin works in.
   */
  export interface Folder {
    /**
     * The absolute path the plugin uses for it inside its sandbox, e.g.
     * `/workspace`; the operator maps a folder of the host machine there.
     */
    path: string,
    /**
     * Whether the plugin creates, changes or deletes files there.
     */
    write: boolean,
    /**
     * Why it needs the folder, shown to the operator when it is not granted.
     */
    reason: string,
  }
  /**
   * Everything a plugin needs.
   */
  export interface Requirements {
    /**
     * Folders, each at its own path.
     */
    folders: Array<Folder>,
    /**
     * Names of environment variables the plugin reads.
     */
    env: Array<string>,
    /**
     * Destinations it connects to: `host`, `host:port`, `*.domain`, optionally
     * behind `http://` or `https://` (e.g. `https://api.example.com`).
     */
    network: Array<string>,
  }
}
