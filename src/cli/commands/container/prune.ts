import { filtersFromArgs } from '../../../client/engine-client.js';
import type { CommandSpec } from '../../command.js';
import { confirmPrune, deletedSection, reclaimedLine } from '../prune-common.js';

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Remove all stopped containers',
  aliases: ['wharf container prune'],
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
    if (
      !f.bool('force') &&
      !(await confirmPrune(cli, 'WARNING! This will remove all stopped containers.'))
    ) {
      return 0; // docker says nothing more when the answer is no
    }
    const client = await cli.client();
    const res = await client.containerPrune({ filters: filtersFromArgs(f.list('filter')) });
    cli.stdout.write(
      deletedSection('Deleted Containers', res.ContainersDeleted) +
        reclaimedLine(res.SpaceReclaimed ?? 0),
    );
    return 0;
  },
};
