/** `wharf system prune`: containers, networks, (volumes,) images, build cache, as docker. */
import { filtersFromArgs } from '../../../client/engine-client.js';
import type { CommandSpec } from '../../command.js';
import { deleteLines } from '../image/prune.js';
import { confirmPrune, deletedSection, reclaimedLine } from '../prune-common.js';

function warning(all: boolean, volumes: boolean): string {
  const items = [
    'all stopped containers',
    'all networks not used by at least one container',
    ...(volumes ? ['all anonymous volumes not used by at least one container'] : []),
    all ? 'all images without at least one container associated to them' : 'all dangling images',
    all ? 'all build cache' : 'unused build cache',
  ];
  return `WARNING! This will remove:\n${items.map((i) => `  - ${i}\n`).join('')}`;
}

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Remove unused data',
  aliases: ['wharf system prune'],
  flags: [
    {
      name: 'all',
      short: 'a',
      type: 'bool',
      help: 'Remove all unused images not just dangling ones',
    },
    {
      name: 'filter',
      type: 'list',
      valueName: 'filter',
      help: 'Provide filter values (e.g. "label=<key>=<value>")',
    },
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
    { name: 'volumes', type: 'bool', help: 'Prune anonymous volumes' },
  ],
  args: { max: 0 },
  async run(cli, f) {
    const all = f.bool('all');
    if (!f.bool('force') && !(await confirmPrune(cli, warning(all, f.bool('volumes'))))) return 0;
    const client = await cli.client();
    const filters = f.list('filter');
    let reclaimed = 0;
    const containers = await client.containerPrune({ filters: filtersFromArgs(filters) });
    reclaimed += containers.SpaceReclaimed ?? 0;
    cli.stdout.write(deletedSection('Deleted Containers', containers.ContainersDeleted));
    const networks = await client.networkPrune({ filters: filtersFromArgs(filters) });
    cli.stdout.write(deletedSection('Deleted Networks', networks.NetworksDeleted));
    if (f.bool('volumes')) {
      const volumes = await client.volumePrune({ filters: filtersFromArgs(filters) });
      reclaimed += volumes.SpaceReclaimed ?? 0;
      cli.stdout.write(deletedSection('Deleted Volumes', volumes.VolumesDeleted));
    }
    const images = await client.imagePrune({
      filters: filtersFromArgs(all ? [...filters, 'dangling=false'] : filters),
    });
    reclaimed += images.SpaceReclaimed ?? 0;
    cli.stdout.write(deletedSection('Deleted Images', deleteLines(images.ImagesDeleted)));
    // As docker: -a and the filters go to the build cache prune too.
    const cache = await client.buildPrune({
      all,
      ...(filters.length > 0 ? { filters: filtersFromArgs(filters)! } : {}),
    });
    reclaimed += cache.SpaceReclaimed ?? 0;
    cli.stdout.write(deletedSection('Deleted build cache objects', cache.CachesDeleted));
    cli.stdout.write(reclaimedLine(reclaimed));
    return 0;
  },
};
