import { ApiError } from '../../../client/errors.js';
import type { CommandSpec } from '../../command.js';
import { FlagError } from '../../flags.js';
import { INSPECT_FORMAT_FLAG, inspectEach } from '../inspect-common.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] NAME|ID [NAME|ID...]',
  description: 'Return low-level information on Wharf objects',
  flags: [
    { ...INSPECT_FORMAT_FLAG },
    {
      name: 'size',
      short: 's',
      type: 'bool',
      help: 'Display total file sizes if the type is container',
    },
    { name: 'type', type: 'string', help: 'Return JSON for specified type' },
  ],
  args: { min: 1 },
  async run(cli, f, args) {
    const client = await cli.client();
    const type = f.str('type');
    if (type !== '' && type !== 'container' && type !== 'image') {
      throw new FlagError(`"${type}" is not a valid value for --type`);
    }
    const size = f.bool('size');
    const notFound = (err: unknown): boolean => err instanceof ApiError && err.statusCode === 404;
    return inspectEach(
      cli,
      args,
      async (name) => {
        if (type !== 'image') {
          try {
            return await client.containerInspect(name, { size });
          } catch (err) {
            if (type === 'container' || !notFound(err)) throw err;
          }
        }
        try {
          return await client.imageInspect(name);
        } catch (err) {
          if (type === '' && notFound(err)) throw new ApiError(404, `No such object: ${name}`);
          throw err;
        }
      },
      f.str('format'),
      type === '',
    );
  },
};
