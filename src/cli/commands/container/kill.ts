import type { CommandSpec } from '../../command.js';
import { forEachName } from '../shared.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Kill one or more running containers',
  aliases: ['wharf container kill', 'wharf kill'],
  flags: [{ name: 'signal', short: 's', type: 'string', help: 'Signal to send to the container' }],
  args: { min: 1 },
  async run(cli, f, args) {
    const client = await cli.client();
    const signal = f.str('signal') || undefined;
    return forEachName(cli, args, (n) => client.containerKill(n, signal));
  },
};
