// Misbehaves on purpose, one tool per fault. Each must end in a clear error for the client
// while the host keeps serving.
import { tool, ToolError } from '@berth/plugin-sdk';

tool({ name: 'ok', description: 'Answers normally (to show the host still serves).', run: () => 'still here' });

tool({
  name: 'throw_error',
  description: 'Throws a plain Error.',
  run: () => {
    throw new Error('something broke inside the plugin');
  },
});

tool({
  name: 'throw_tool_error',
  description: 'Throws a ToolError: a result with isError the model sees.',
  run: () => {
    throw new ToolError('the input was understood but cannot be processed; try a smaller one');
  },
});

tool({
  name: 'invalid_arguments',
  description: 'Throws ToolError.invalidArguments.',
  run: () => {
    throw ToolError.invalidArguments('`count` must be positive');
  },
});

tool({ name: 'return_bigint', description: 'Returns a BigInt, which JSON cannot encode.', run: () => ({ big: 2n ** 70n }) });

tool({
  name: 'return_cycle',
  description: 'Returns a cyclic object.',
  run: () => {
    const node = { name: 'loop' };
    node.self = node;
    return node;
  },
});

tool({
  name: 'async_reject',
  description: 'An async tool whose promise rejects.',
  run: async () => {
    await null;
    throw new TypeError('rejected after an await');
  },
});

tool({
  name: 'loop_forever',
  description: 'Never returns (the host stops it at its time limit).',
  run: () => {
    let n = 0;
    for (;;) n++;
  },
});

tool({
  name: 'grab_memory',
  description: 'Allocates until the memory cap stops it.',
  run: () => {
    const hoard = [];
    for (;;) hoard.push(new Array(1 << 20).fill(hoard.length));
  },
});

tool({
  name: 'stack_overflow',
  description: 'Recurses without end.',
  run: () => {
    const dive = (n) => dive(n + 1) + 1;
    return dive(0);
  },
});
