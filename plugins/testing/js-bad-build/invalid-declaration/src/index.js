// Bundles, but the declaration is invalid: the input schema is not an object schema.
import { tool } from '@berth/plugin-sdk';

tool({ name: 'list_input', description: 'Takes a list.', input: { type: 'array' }, run: () => 'x' });
