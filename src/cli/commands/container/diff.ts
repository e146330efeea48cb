import type { CommandSpec } from '../../command.js';

const KIND = ['C', 'A', 'D'];

export const command: CommandSpec = {
  usage: 'CONTAINER',
  description: "Inspect changes to files or directories on a container's filesystem",
  aliases: ['wharf container diff', 'wharf diff'],
  flags: [],
  args: { min: 1, max: 1 },
  async run(cli, _f, args) {
    const client = await cli.client();
    const changes = await client.containerChanges(args[0] as string);
    cli.stdout.write(changes.map((c) => `${KIND[c.Kind] ?? '?'} ${c.Path}\n`).join(''));
    return 0;
  },
};
