import { createReadStream } from 'node:fs';

import type { CommandSpec } from '../../command.js';
import { splitRepoTag } from './tag.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
  description: 'Import the contents from a tarball to create a filesystem image',
  aliases: ['wharf image import', 'wharf import'],
  flags: [
    {
      name: 'change',
      short: 'c',
      type: 'list',
      help: 'Apply Dockerfile instruction to the created image',
    },
    { name: 'message', short: 'm', type: 'string', help: 'Set commit message for imported image' },
    { name: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable' },
  ],
  args: { min: 1, max: 2 },
  async run(cli, f, args) {
    const [source, ref] = args as [string, string | undefined];
    const isUrl = /^https?:\/\//.test(source);
    const body = source === '-' ? cli.stdin : isUrl ? undefined : createReadStream(source);
    if (body && source !== '-') {
      // Fail before talking to the daemon when the file is missing (docker does the same).
      await new Promise<void>((resolve, reject) => {
        (body as ReturnType<typeof createReadStream>).once('open', () => resolve());
        body.once('error', (err: NodeJS.ErrnoException) =>
          // docker (Go) words it "open PATH: no such file or directory"
          reject(
            err.code === 'ENOENT' ? new Error(`open ${source}: no such file or directory`) : err,
          ),
        );
      });
    }
    const { repo, tag } = ref ? splitRepoTag(ref) : { repo: undefined, tag: undefined };
    const client = await cli.client();
    let last = '';
    await client.imageImport(
      {
        fromSrc: isUrl ? source : '-',
        repo,
        tag: tag || undefined,
        message: f.str('message') || undefined,
        changes: f.list('change'),
        platform: f.str('platform') || undefined,
      },
      body,
      (m) => {
        if (m.status) last = m.status;
      },
    );
    if (last) cli.stdout.write(`${last}\n`);
    return 0;
  },
};
