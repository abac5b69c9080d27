// Does not build: imports a module that does not exist.
import { tool } from '@berth/plugin-sdk';
import { helper } from './helpers.js';

tool({ name: 'uses_helper', description: 'Needs a missing file.', run: () => helper() });
