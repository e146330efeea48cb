import { filtersFromArgs } from '../../../client/engine-client.js';
import type { CommandSpec } from '../../command.js';
import { confirmPrune, deletedSection } from '../prune-common.js';

const WARNING = 'WARNING! This will remove all custom networks not used by at least one container.';

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
    if (!f.bool('force') && !(await confirmPrune(cli, WARNING))) return 0;
    const client = await cli.client();
    const res = await client.networkPrune({ filters: filtersFromArgs(f.list('filter')) });
    cli.stdout.write(deletedSection('Deleted Networks', res.NetworksDeleted));
    return 0;
  },
};
