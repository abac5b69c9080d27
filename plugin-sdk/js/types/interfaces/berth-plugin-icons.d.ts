declare module 'berth:plugin/icons@0.3.0' {
  /**
   * Every item's icons, at most one set per item.
   */
  export function icons(): Array<[Item, Array<Icon>]>;
  /**
   * The theme an icon is drawn for.
   * # Variants
   * 
   * ## `"light"`
   * 
   * For light backgrounds.
   * ## `"dark"`
   * 
   * For dark backgrounds.
   */
  export type Theme = 'light' | 'dark';
  /**
   * One image.
   */
  export interface Icon {
    /**
     * Where the image is: an `https:` URL or a `data:` URI (at most 64 KiB).
     */
    src: string,
    /**
     * Its MIME type (e.g. `image/png`, `image/svg+xml`), if known.
     */
    mimeType?: string,
    /**
     * The sizes it is drawn for, e.g. `48x48`, or `any` for a scalable image.
     */
    sizes: Array<string>,
    /**
     * The theme it is drawn for, if one.
     */
    theme?: Theme,
  }
  /**
   * What a set of icons belongs to, in the plugin's own names.
   */
  export type Item = ItemTool | ItemPrompt | ItemResource | ItemResourceTemplate;
  /**
   * A tool, by its plugin-local name.
   */
  export interface ItemTool {
    tag: 'tool',
    val: string,
  }
  /**
   * A prompt, by its plugin-local name.
   */
  export interface ItemPrompt {
    tag: 'prompt',
    val: string,
  }
  /**
   * A static resource, by its URI.
   */
  export interface ItemResource {
    tag: 'resource',
    val: string,
  }
  /**
   * A resource template, by its URI template.
   */
  export interface ItemResourceTemplate {
    tag: 'resource-template',
    val: string,
  }
}
