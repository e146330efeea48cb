import type { CommandSpec } from '../../command.js';
import { forEachName } from '../shared.js';

export const command: CommandSpec = {
  usage: 'NETWORK [NETWORK...]',
  description: 'Remove one or more networks',
  aliases: ['wharf network rm', 'wharf network remove'],
  flags: [
    { name: 'force', short: 'f', type: 'bool', help: 'Do not error if the network does not exist' },
  ],
  args: { min: 1 },
  async run(cli, f, args) {
    const client = await cli.client();
    return forEachName(cli, args, async (n) => {
      try {
        await client.networkRemove(n);
      } catch (err) {
        if (f.bool('force') && (err as { statusCode?: number }).statusCode === 404) return '';
        throw err;
      }
    });
  },
};
