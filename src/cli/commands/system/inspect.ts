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
    if (type !== '' && type !== 'container' && type !== 'image' && type !== 'volume') {
      throw new FlagError(`"${type}" is not a valid value for --type`);
    }
    const size = f.bool('size');
    const notFound = (err: unknown): boolean => err instanceof ApiError && err.statusCode === 404;
    // docker's order: container, image, then the other object types (volume here).
    const getters: Array<[string, (name: string) => Promise<unknown>]> = [
      ['container', (n) => client.containerInspect(n, { size })],
      ['image', (n) => client.imageInspect(n)],
      ['volume', (n) => client.volumeInspect(n)],
    ];
    return inspectEach(
      cli,
      args,
      async (name) => {
        for (const [kind, get] of getters) {
          if (type !== '' && type !== kind) continue;
          try {
            return await get(name);
          } catch (err) {
            if (type !== '' || !notFound(err)) throw err;
          }
        }
        throw new ApiError(404, `No such object: ${name}`);
      },
      f.str('format'),
      type === '',
    );
  },
};
