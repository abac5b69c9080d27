/// <reference path="./interfaces/berth-plugin-chat.d.ts" />
/// <reference path="./interfaces/berth-plugin-client.d.ts" />
/// <reference path="./interfaces/berth-plugin-completion.d.ts" />
/// <reference path="./interfaces/berth-plugin-config.d.ts" />
/// <reference path="./interfaces/berth-plugin-events.d.ts" />
/// <reference path="./interfaces/berth-plugin-guest.d.ts" />
/// <reference path="./interfaces/berth-plugin-icons.d.ts" />
/// <reference path="./interfaces/berth-plugin-log.d.ts" />
/// <reference path="./interfaces/berth-plugin-needs.d.ts" />
/// <reference path="./interfaces/berth-plugin-progress.d.ts" />
/// <reference path="./interfaces/berth-plugin-prompts.d.ts" />
/// <reference path="./interfaces/berth-plugin-resources.d.ts" />
/// <reference path="./interfaces/berth-plugin-types.d.ts" />
declare module 'berth:plugin/full@0.3.0' {
  export type * as BerthPluginChat030 from 'berth:plugin/chat@0.3.0'; // import berth:plugin/chat@0.3.0
  export type * as BerthPluginClient030 from 'berth:plugin/client@0.3.0'; // import berth:plugin/client@0.3.0
  export type * as BerthPluginConfig030 from 'berth:plugin/config@0.3.0'; // import berth:plugin/config@0.3.0
  export type * as BerthPluginLog030 from 'berth:plugin/log@0.3.0'; // import berth:plugin/log@0.3.0
  export type * as BerthPluginProgress030 from 'berth:plugin/progress@0.3.0'; // import berth:plugin/progress@0.3.0
  export type * as BerthPluginResources030 from 'berth:plugin/resources@0.3.0'; // import berth:plugin/resources@0.3.0
  export type * as BerthPluginTypes030 from 'berth:plugin/types@0.3.0'; // import berth:plugin/types@0.3.0
  export * as needs from 'berth:plugin/needs@0.3.0'; // export berth:plugin/needs@0.3.0
  export * as prompts from 'berth:plugin/prompts@0.3.0'; // export berth:plugin/prompts@0.3.0
  export * as completion from 'berth:plugin/completion@0.3.0'; // export berth:plugin/completion@0.3.0
  export * as icons from 'berth:plugin/icons@0.3.0'; // export berth:plugin/icons@0.3.0
  export * as events from 'berth:plugin/events@0.3.0'; // export berth:plugin/events@0.3.0
  export * as guest from 'berth:plugin/guest@0.3.0'; // export berth:plugin/guest@0.3.0
}
