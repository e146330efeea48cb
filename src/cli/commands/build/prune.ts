import { filtersFromArgs } from '../../../client/engine-client.js';
import type { CommandSpec } from '../../command.js';
import { ramInBytes } from '../../units.js';
import { humanSizeDecimal } from '../../../api-types/index.js';

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Remove build cache',
  aliases: ['wharf builder prune'],
  flags: [
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
    {
      name: 'all',
      short: 'a',
      type: 'bool',
      help: 'Remove all unused build cache, not just dangling ones',
    },
    {
      name: 'filter',
      type: 'list',
      valueName: 'filter',
      help: 'Provide filter values (e.g. "until=24h")',
    },
    {
      name: 'keep-storage',
      type: 'string',
      valueName: 'bytes',
      help: 'Amount of disk space to keep for cache',
    },
  ],
  args: { max: 0 },
  async run(cli, f) {
    const keep = f.str('keep-storage');
    let keepStorage = 0;
    if (keep) {
      try {
        keepStorage = ramInBytes(keep);
      } catch (err) {
        cli.stderr.write(
          `invalid argument "${keep}" for "--keep-storage" flag: ${(err as Error).message}\n`,
        );
        return 125;
      }
    }
    if (!f.bool('force')) {
      const what = f.bool('all') ? 'all build cache' : 'all dangling build cache';
      cli.stdout.write(
        `WARNING! This will remove ${what}.\nAre you sure you want to continue? [y/N] `,
      );
      const answer = await new Promise<string>((resolve) => {
        cli.stdin.once('data', (d) => resolve(String(d)));
        cli.stdin.once('end', () => resolve(''));
      });
      cli.stdin.pause();
      if (!/^y(es)?$/i.test(answer.trim())) return 0;
    }
    const client = await cli.client();
    const filters = filtersFromArgs(f.list('filter'));
    const res = await client.buildPrune({
      all: f.bool('all'),
      ...(filters ? { filters } : {}),
      keepStorage,
    });
    if (res.CachesDeleted.length > 0) {
      cli.stdout.write('Deleted build cache objects:\n');
      for (const id of res.CachesDeleted) cli.stdout.write(`${id}\n`);
      cli.stdout.write('\n');
    }
    cli.stdout.write(`Total reclaimed space: ${humanSizeDecimal(res.SpaceReclaimed)}\n`);
    return 0;
  },
};
