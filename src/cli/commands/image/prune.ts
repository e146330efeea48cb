import type { ImageDeleteResponseItem } from '../../../api-types/index.js';
import { filtersFromArgs } from '../../../client/engine-client.js';
import type { CommandSpec } from '../../command.js';
import { confirmPrune, deletedSection, reclaimedLine } from '../prune-common.js';

const WARN_DANGLING = 'WARNING! This will remove all dangling images.';
const WARN_ALL =
  'WARNING! This will remove all images without at least one container associated to them.';

/** docker's lines for a removal: "untagged: busybox:old", "deleted: sha256:…". */
export function deleteLines(
  items: readonly ImageDeleteResponseItem[] | null | undefined,
): string[] {
  const out: string[] = [];
  for (const i of items ?? []) {
    if (i.Untagged) out.push(`untagged: ${i.Untagged}`);
    if (i.Deleted) out.push(`deleted: ${i.Deleted}`);
  }
  return out;
}

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Remove unused images',
  aliases: ['wharf image prune'],
  flags: [
    {
      name: 'all',
      short: 'a',
      type: 'bool',
      help: 'Remove all unused images, not just dangling ones',
    },
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
    const all = f.bool('all');
    if (!f.bool('force') && !(await confirmPrune(cli, all ? WARN_ALL : WARN_DANGLING))) {
      return 0; // docker says nothing more when the answer is no
    }
    const filters = [...f.list('filter')];
    if (all) filters.push('dangling=false');
    const client = await cli.client();
    const res = await client.imagePrune({ filters: filtersFromArgs(filters) });
    cli.stdout.write(
      deletedSection('Deleted Images', deleteLines(res.ImagesDeleted)) +
        reclaimedLine(res.SpaceReclaimed ?? 0),
    );
    return 0;
  },
};
