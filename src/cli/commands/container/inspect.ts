import type { CommandSpec } from '../../command.js';
import { INSPECT_FORMAT_FLAG, inspectEach } from '../inspect-common.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Display detailed information on one or more containers',
  flags: [
    { ...INSPECT_FORMAT_FLAG },
    { name: 'size', short: 's', type: 'bool', help: 'Display total file sizes' },
  ],
  args: { min: 1 },
  async run(cli, f, args) {
    const client = await cli.client();
    const size = f.bool('size');
    return inspectEach(cli, args, (n) => client.containerInspect(n, { size }), f.str('format'));
  },
};
