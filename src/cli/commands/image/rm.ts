import type { CommandSpec } from '../../command.js';
import { describeErrorText } from '../../errors.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Remove one or more images',
  aliases: ['wharf image rm', 'wharf image remove', 'wharf rmi'],
  flags: [
    { name: 'force', short: 'f', type: 'bool', help: 'Force removal of the image' },
    { name: 'no-prune', type: 'bool', help: 'Do not delete untagged parents' },
  ],
  args: { min: 1 },
  async run(cli, f, args) {
    const client = await cli.client();
    let failed = false;
    for (const name of args) {
      try {
        const items = await client.imageRemove(name, {
          force: f.bool('force'),
          noprune: f.bool('no-prune'),
        });
        for (const it of items ?? []) {
          if (it.Untagged) cli.stdout.write(`Untagged: ${it.Untagged}\n`);
          if (it.Deleted) cli.stdout.write(`Deleted: ${it.Deleted}\n`);
        }
      } catch (err) {
        failed = true;
        cli.stderr.write(`${describeErrorText(err)}\n`);
      }
    }
    return failed ? 1 : 0;
  },
};
