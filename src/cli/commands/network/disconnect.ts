import type { CommandSpec } from '../../command.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] NETWORK CONTAINER',
  description: 'Disconnect a container from a network',
  aliases: ['wharf network disconnect'],
  flags: [
    {
      name: 'force',
      short: 'f',
      type: 'bool',
      help: 'Force the container to disconnect from a network',
    },
  ],
  args: { min: 2, max: 2 },
  async run(cli, f, args) {
    const client = await cli.client();
    await client.networkDisconnect(args[0]!, args[1]!, f.bool('force'));
    return 0;
  },
};
