import type { CommandSpec } from '../../command.js';
import { CONTAINER_FLAGS } from '../../run-flags.js';
import { runOptionsToCreateBody } from '../../run-options.js';
import { createFromPlan, readTextFile } from '../shared.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create a new container',
  aliases: ['wharf container create', 'wharf create'],
  flags: CONTAINER_FLAGS,
  interspersed: false,
  args: { min: 1 },
  statusOnError: 125,
  async run(cli, f, args) {
    const plan = runOptionsToCreateBody(f, args, {
      env: cli.env,
      readFile: readTextFile,
      cwd: process.cwd(),
    });
    const client = await cli.client();
    const id = await createFromPlan(cli, client, plan, f.str('pull') || 'missing');
    cli.stdout.write(`${id}\n`);
    return 0;
  },
};
