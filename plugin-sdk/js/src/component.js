// Used only by the entries `berth-js build` generates; plugin code never imports it.
export { installHost, setPackageDefaults } from './host.js';
export { witExports } from './plugin.js';
