import { StatusError, type CommandSpec } from '../../command.js';
import { joinHostPort } from './ps-context.js';

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
    const out: string[] = [];
    if (want !== undefined) {
      const key = want.includes('/') ? want : `${want}/tcp`;
      const list = ports[key];
      if (!list || list.length === 0)
        throw new StatusError(1, `Error: No public port '${want}' published for ${args[0]}`);
      for (const b of list) out.push(joinHostPort(b.HostIp, b.HostPort));
    } else {
      for (const [key, list] of Object.entries(ports))
        for (const b of list ?? []) out.push(`${key} -> ${joinHostPort(b.HostIp, b.HostPort)}`);
    }
    // docker sorts the lines in natural order (digit runs compared as numbers).
    for (const line of out.sort(naturalCompare)) cli.stdout.write(`${line}\n`);
    return 0;
  },
};

/** Natural order: runs of digits compare as numbers, everything else byte by byte. */
export function naturalCompare(a: string, b: string): number {
  const re = /(\d+|\D+)/g;
  const xs = a.match(re) ?? [];
  const ys = b.match(re) ?? [];
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return xs.length - ys.length;
}
