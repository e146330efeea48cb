import type { CommandSpec } from '../../command.js';
import { forEachName } from '../shared.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Remove one or more containers',
  aliases: ['wharf container rm', 'wharf container remove', 'wharf rm'],
  flags: [
    {
      name: 'force',
      short: 'f',
      type: 'bool',
      help: 'Force the removal of a running container (uses SIGKILL)',
    },
    { name: 'link', short: 'l', type: 'bool', help: 'Remove the specified link' },
    {
      name: 'volumes',
      short: 'v',
      type: 'bool',
      help: 'Remove anonymous volumes associated with the container',
    },
  ],
  args: { min: 1 },
  async run(cli, f, args) {
    const client = await cli.client();
    const opts = { force: f.bool('force'), volumes: f.bool('volumes'), link: f.bool('link') };
    return forEachName(cli, args, async (n) => {
      if (n.replace(/^\/+/, '') === '') throw new Error('Container name cannot be empty');
      await client.containerRemove(n, opts);
    });
  },
};
