import type { CommandSpec } from '../../command.js';
import { forEachName } from '../shared.js';

export const command: CommandSpec = {
  usage: 'CONTAINER [CONTAINER...]',
  description: 'Pause all processes within one or more containers',
  aliases: ['wharf container pause', 'wharf pause'],
  flags: [],
  args: { min: 1 },
  async run(cli, _f, args) {
    const client = await cli.client();
    return forEachName(cli, args, (n) => client.containerPause(n));
  },
};
