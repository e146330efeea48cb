import { filtersFromArgs } from '../../../client/engine-client.js';
import type { CommandSpec } from '../../command.js';
import { humanSize } from '../../units.js';

const WARN_ANON =
  'WARNING! This will remove anonymous local volumes not used by at least one container.';
const WARN_ALL = 'WARNING! This will remove all local volumes not used by at least one container.';

/** Reads one line from stdin (the prompt's answer); '' at EOF. */
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
  description: 'Remove unused local volumes',
  aliases: ['wharf volume prune'],
  flags: [
    {
      name: 'all',
      short: 'a',
      type: 'bool',
      help: 'Remove all unused volumes, not just anonymous ones',
    },
    {
      name: 'filter',
      type: 'list',
      valueName: 'filter',
      help: 'Provide filter values (e.g. "label=<label>")',
    },
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
  ],
  args: { max: 0 },
  async run(cli, f) {
    const filters = [...f.list('filter')];
    if (f.bool('all')) filters.push('all=true');
    if (!f.bool('force')) {
      cli.stdout.write(
        `${f.bool('all') ? WARN_ALL : WARN_ANON}\nAre you sure you want to continue? [y/N] `,
      );
      const answer = (await readAnswer(cli.stdin)).toLowerCase();
      if (answer !== 'y' && answer !== 'yes') {
        cli.stdout.write('Total reclaimed space: 0B\n');
        return 0;
      }
    }
    const client = await cli.client();
    const res = await client.volumePrune({ filters: filtersFromArgs(filters) });
    let out = '';
    if ((res.VolumesDeleted ?? []).length > 0) {
      out += 'Deleted Volumes:\n';
      for (const n of res.VolumesDeleted!) out += `${n}\n`;
      out += '\n';
    }
    cli.stdout.write(`${out}Total reclaimed space: ${humanSize(res.SpaceReclaimed ?? 0)}\n`);
    return 0;
  },
};
