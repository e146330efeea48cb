import type { CommandSpec } from '../../command.js';
import { INSPECT_FORMAT_FLAG, inspectEach } from '../inspect-common.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] VOLUME [VOLUME...]',
  description: 'Display detailed information on one or more volumes',
  aliases: ['wharf volume inspect'],
  flags: [{ ...INSPECT_FORMAT_FLAG }],
  args: { min: 1 },
  async run(cli, f, args) {
    const client = await cli.client();
    return inspectEach(cli, args, (n) => client.volumeInspect(n), f.str('format'));
  },
};
