import { StatusError, type CommandSpec } from '../../command.js';
import { describeErrorText } from '../../errors.js';

export const command: CommandSpec = {
  usage: 'CONTAINER NEW_NAME',
  description: 'Rename a container',
  aliases: ['wharf container rename', 'wharf rename'],
  flags: [],
  args: { min: 2, max: 2 },
  async run(cli, _f, args) {
    const [oldName, newName] = args.map((a) => a.trim()) as [string, string];
    if (oldName === '' || newName === '')
      throw new Error('Error: Neither old nor new names may be empty');
    const client = await cli.client();
    try {
      await client.containerRename(oldName, newName);
    } catch (err) {
      throw new StatusError(
        1,
        `${describeErrorText(err)}\nError: failed to rename container named ${oldName}`,
        true,
      );
    }
    return 0;
  },
};
