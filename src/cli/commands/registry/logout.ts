import type { CommandSpec } from '../../command.js';
import { authKeyOf, removeAuth } from '../../docker-config.js';

export const command: CommandSpec = {
  usage: '[SERVER]',
  description:
    'Log out from a registry.\nIf no server is specified, the default is defined by the daemon.',
  aliases: ['wharf logout'],
  flags: [],
  args: { max: 1 },
  async run(cli, _f, args) {
    const key = authKeyOf(args[0] ?? '');
    if (await removeAuth(cli.env, key)) {
      cli.stdout.write(`Removing login credentials for ${key}\n`);
    } else {
      cli.stdout.write(`Not logged in to ${key}\n`);
    }
    return 0;
  },
};
