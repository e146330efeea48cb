import type { CommandSpec } from '../../command.js';
import { splitRepoTag } from '../image/tag.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  description: "Create a new image from a container's changes",
  aliases: ['wharf container commit', 'wharf commit'],
  flags: [
    {
      name: 'author',
      short: 'a',
      type: 'string',
      help: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")',
    },
    {
      name: 'change',
      short: 'c',
      type: 'list',
      help: 'Apply Dockerfile instruction to the created image',
    },
    { name: 'message', short: 'm', type: 'string', help: 'Commit message' },
    {
      name: 'pause',
      short: 'p',
      type: 'bool',
      default: true,
      help: 'Pause container during commit',
    },
  ],
  args: { min: 1, max: 2 },
  async run(cli, f, args) {
    const [container, ref] = args as [string, string | undefined];
    const { repo, tag } = ref ? splitRepoTag(ref) : { repo: undefined, tag: undefined };
    const client = await cli.client();
    const res = await client.containerCommit(container, {
      repo,
      tag: tag || undefined,
      comment: f.str('message') || undefined,
      author: f.str('author') || undefined,
      pause: f.bool('pause'),
      changes: f.list('change'),
    });
    cli.stdout.write(`${res.Id}\n`);
    return 0;
  },
};
