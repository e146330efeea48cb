import type { CommandSpec } from '../../command.js';
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
  ],
  args: { max: 0 },
  async run(cli, f) {
    if (!f.bool('force')) {
      cli.stdout.write(
        'WARNING! This will remove all dangling build cache.\nAre you sure you want to continue? [y/N] ',
      );
      const answer = await new Promise<string>((resolve) => {
        cli.stdin.once('data', (d) => resolve(String(d)));
        cli.stdin.once('end', () => resolve(''));
      });
      cli.stdin.pause();
      if (!/^y(es)?$/i.test(answer.trim())) return 0;
    }
    const client = await cli.client();
    const res = await client.buildPrune();
    if (res.CachesDeleted.length > 0) {
      cli.stdout.write('Deleted build cache objects:\n');
      for (const id of res.CachesDeleted) cli.stdout.write(`${id}\n`);
      cli.stdout.write('\n');
    }
    cli.stdout.write(`Total reclaimed space: ${humanSizeDecimal(res.SpaceReclaimed)}\n`);
    return 0;
  },
};
