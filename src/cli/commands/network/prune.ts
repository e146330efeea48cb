import { filtersFromArgs } from '../../../client/engine-client.js';
import type { CommandSpec } from '../../command.js';

const WARNING = 'WARNING! This will remove all custom networks not used by at least one container.';

async function readAnswer(stdin: NodeJS.ReadStream): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split('\n')[0]!.trim();
}

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Remove all unused networks',
  aliases: ['wharf network prune'],
  flags: [
    {
      name: 'filter',
      type: 'list',
      valueName: 'filter',
      help: 'Provide filter values (e.g. "until=<timestamp>")',
    },
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
  ],
  args: { max: 0 },
  async run(cli, f) {
    if (!f.bool('force')) {
      cli.stdout.write(`${WARNING}\nAre you sure you want to continue? [y/N] `);
      const answer = (await readAnswer(cli.stdin)).toLowerCase();
      if (answer !== 'y' && answer !== 'yes') return 0;
    }
    const client = await cli.client();
    const res = await client.networkPrune({ filters: filtersFromArgs(f.list('filter')) });
    const deleted = res.NetworksDeleted ?? [];
    if (deleted.length > 0) cli.stdout.write(`Deleted Networks:\n${deleted.join('\n')}\n`);
    return 0;
  },
};
