import type { CommandSpec } from '../../command.js';
import { forEachName } from '../shared.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Restart one or more containers',
  aliases: ['wharf container restart', 'wharf restart'],
  flags: [
    { name: 'signal', short: 's', type: 'string', help: 'Signal to send to the container' },
    { name: 'time', short: 't', type: 'int', help: 'Seconds to wait before killing the container' },
  ],
  args: { min: 1 },
  async run(cli, f, args) {
    const client = await cli.client();
    const timeout = f.changed('time') ? f.int('time') : undefined;
    const signal = f.str('signal') || undefined;
    return forEachName(cli, args, (n) => client.containerRestart(n, { timeout, signal }));
  },
};
