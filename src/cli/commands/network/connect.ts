import type { CommandSpec } from '../../command.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] NETWORK CONTAINER',
  description: 'Connect a container to a network',
  aliases: ['wharf network connect'],
  flags: [
    { name: 'alias', type: 'list', help: 'Add network-scoped alias for the container' },
    { name: 'ip', type: 'string', help: 'IPv4 address (e.g., "172.30.100.104")' },
    { name: 'ip6', type: 'string', help: 'IPv6 address (e.g., "2001:db8::33")' },
    { name: 'driver-opt', type: 'list', help: 'driver options for the network' },
  ],
  args: { min: 2, max: 2 },
  async run(cli, f, args) {
    const client = await cli.client();
    const ip = f.str('ip');
    const ip6 = f.str('ip6');
    await client.networkConnect(args[0]!, args[1]!, {
      ...(ip || ip6
        ? {
            IPAMConfig: {
              ...(ip ? { IPv4Address: ip } : {}),
              ...(ip6 ? { IPv6Address: ip6 } : {}),
            },
          }
        : {}),
      ...(f.list('alias').length > 0 ? { Aliases: f.list('alias') } : {}),
    });
    return 0;
  },
};
