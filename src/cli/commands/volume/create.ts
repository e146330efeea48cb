import type { CommandSpec } from '../../command.js';
import { StatusError } from '../../command.js';
import { keyValues } from './volume-context.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] [VOLUME]',
  description: 'Create a volume',
  aliases: ['wharf volume create'],
  flags: [
    {
      name: 'driver',
      short: 'd',
      type: 'string',
      help: 'Specify volume driver name',
      default: 'local',
    },
    { name: 'label', type: 'list', help: 'Set metadata for a volume' },
    { name: 'name', type: 'string', help: 'Specify volume name', hidden: true },
    {
      name: 'opt',
      short: 'o',
      type: 'list',
      valueName: 'map',
      help: 'Set driver specific options',
    },
  ],
  args: { max: 1 },
  async run(cli, f, args) {
    let name = f.str('name');
    if (args[0] !== undefined) {
      if (f.changed('name')) {
        throw new StatusError(
          1,
          'conflicting options: cannot specify a volume-name through both --name and as a positional arg',
        );
      }
      name = args[0];
    }
    const client = await cli.client();
    const vol = await client.volumeCreate({
      Name: name,
      Driver: f.str('driver'),
      DriverOpts: keyValues(f.list('opt')),
      Labels: keyValues(f.list('label')),
    });
    cli.stdout.write(`${vol.Name}\n`);
    return 0;
  },
};
