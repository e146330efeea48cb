import type { CommandSpec } from '../../command.js';
import { tabwrite } from '../../format/tabwriter.js';

export const command: CommandSpec = {
  usage: 'CONTAINER [ps OPTIONS]',
  description: 'Display the running processes of a container',
  aliases: ['wharf container top', 'wharf top'],
  flags: [],
  interspersed: false,
  args: { min: 1 },
  async run(cli, _f, args) {
    const client = await cli.client();
    const top = await client.containerTop(args[0] as string, args.slice(1).join(' '));
    const lines = [top.Titles.join('\t'), ...top.Processes.map((p) => p.join('\t'))];
    cli.stdout.write(tabwrite(`${lines.join('\n')}\n`, { minWidth: 20, padding: 3 }));
    return 0;
  },
};
