import type { CommandSpec } from '../../command.js';
import { INSPECT_FORMAT_FLAG, inspectEach } from '../inspect-common.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] NETWORK [NETWORK...]',
  description: 'Display detailed information on one or more networks',
  aliases: ['wharf network inspect'],
  flags: [{ ...INSPECT_FORMAT_FLAG }],
  args: { min: 1 },
  async run(cli, f, args) {
    const client = await cli.client();
    return inspectEach(cli, args, (n) => client.networkInspect(n), f.str('format'));
  },
};
