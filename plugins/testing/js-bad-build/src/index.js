// Does not build: the object literal below is missing a closing brace.
import { tool } from '@berth/plugin-sdk';

tool({
  name: 'broken',
  description: 'Never builds.',
  run: () => {
    return { answer: 42 ;
  },
});
