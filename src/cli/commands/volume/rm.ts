import type { CommandSpec } from '../../command.js';
import { forEachName } from '../shared.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] VOLUME [VOLUME...]',
  description: 'Remove one or more volumes',
  aliases: ['wharf volume rm', 'wharf volume remove'],
  flags: [
    { name: 'force', short: 'f', type: 'bool', help: 'Force the removal of one or more volumes' },
  ],
  args: { min: 1 },
  async run(cli, f, args) {
    const client = await cli.client();
    return forEachName(cli, args, (n) => client.volumeRemove(n, { force: f.bool('force') }));
  },
};
