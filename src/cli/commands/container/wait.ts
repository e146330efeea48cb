import type { CommandSpec } from '../../command.js';
import { forEachName } from '../shared.js';

export const command: CommandSpec = {
  usage: 'CONTAINER [CONTAINER...]',
  description: 'Block until one or more containers stop, then print their exit codes',
  aliases: ['wharf container wait', 'wharf wait'],
  flags: [],
  args: { min: 1 },
  async run(cli, _f, args) {
    const client = await cli.client();
    return forEachName(cli, args, async (n) => {
      const { result } = await client.containerWait(n);
      const r = await result;
      if (r.Error?.Message) throw new Error(r.Error.Message);
      return String(r.StatusCode);
    });
  },
};
