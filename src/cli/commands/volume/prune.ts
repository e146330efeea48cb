import { filtersFromArgs } from '../../../client/engine-client.js';
import type { CommandSpec } from '../../command.js';
import { confirmPrune, deletedSection, reclaimedLine } from '../prune-common.js';

const WARN_ANON =
  'WARNING! This will remove anonymous local volumes not used by at least one container.';
const WARN_ALL = 'WARNING! This will remove all local volumes not used by at least one container.';

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
    if (!f.bool('force') && !(await confirmPrune(cli, f.bool('all') ? WARN_ALL : WARN_ANON))) {
      return 0; // docker says nothing more when the answer is no
    }
    const client = await cli.client();
    const res = await client.volumePrune({ filters: filtersFromArgs(filters) });
    cli.stdout.write(
      deletedSection('Deleted Volumes', res.VolumesDeleted) +
        reclaimedLine(res.SpaceReclaimed ?? 0),
    );
    return 0;
  },
};
