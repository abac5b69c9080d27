/// <reference path="./berth-plugin-types.d.ts" />
declare module 'berth:plugin/chat@0.3.0' {
  export type ContentBlock = import('berth:plugin/types@0.3.0').ContentBlock;
  /**
   * Who speaks a message.
   * # Variants
   * 
   * ## `"user"`
   * 
   * The human side of the conversation.
   * ## `"assistant"`
   * 
   * The model.
   */
  export type Role = 'user' | 'assistant';
  /**
   * One message of a conversation.
   */
  export interface Message {
    /**
     * Who speaks it.
     */
    role: Role,
    /**
     * What it says: text, an image, audio, or (in prompts only) a resource link or an
     * embedded resource.
     */
    content: ContentBlock,
  }
}
