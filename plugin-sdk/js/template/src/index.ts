import { tool } from '@berth/plugin-sdk';

tool({
  name: 'greet',
  description: 'Greets someone by name.',
  input: {
    type: 'object',
    properties: { name: { type: 'string', description: 'Who to greet.' } },
    required: ['name'],
  },
  annotations: { readOnly: true, idempotent: true },
  run: ({ name }: { name: string }) => `Hello, ${name}!`,
});
