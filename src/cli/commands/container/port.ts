import { StatusError, type CommandSpec } from '../../command.js';

type Bindings = Record<string, Array<{ HostIp: string; HostPort: string }> | null>;

export const command: CommandSpec = {
  usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
  description: 'List port mappings or a specific mapping for the container',
  aliases: ['wharf container port', 'wharf port'],
  flags: [],
  args: { min: 1, max: 2 },
  async run(cli, _f, args) {
    const client = await cli.client();
    const info = (await client.containerInspect(args[0]!)) as unknown as {
      NetworkSettings?: { Ports?: Bindings | null };
    };
    const ports = info.NetworkSettings?.Ports ?? {};
    const want = args[1];
    if (want !== undefined) {
      const key = want.includes('/') ? want : `${want}/tcp`;
      const list = ports[key];
      if (!list || list.length === 0)
        throw new StatusError(1, `Error: No public port '${key}' published for ${args[0]}`);
      for (const b of list) cli.stdout.write(`${b.HostIp}:${b.HostPort}\n`);
      return 0;
    }
    const keys = Object.keys(ports).sort((a, b) => parseInt(a) - parseInt(b) || a.localeCompare(b));
    for (const key of keys) {
      for (const b of ports[key] ?? []) cli.stdout.write(`${key} -> ${b.HostIp}:${b.HostPort}\n`);
    }
    return 0;
  },
};
