import { encodeRegistryAuth } from '../../../client/index.js';
import type { CommandSpec } from '../../command.js';
import { loadAuth, registryOf } from '../../docker-config.js';
import { ProgressRenderer } from '../../progress.js';
import { splitRepoTag } from './tag.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] NAME[:TAG]',
  description: 'Upload an image to a registry',
  aliases: ['wharf image push', 'wharf push'],
  flags: [
    {
      name: 'all-tags',
      short: 'a',
      type: 'bool',
      help: 'Push all tags of an image to the repository',
    },
    {
      name: 'compression',
      type: 'string',
      help: 'Recompress layers before upload ("zstd" or "gzip"); the image ID stays the same',
    },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress verbose output' },
  ],
  args: { min: 1, max: 1 },
  async run(cli, f, args) {
    const ref = args[0]!;
    const { repo, tag } = splitRepoTag(ref);
    const all = f.bool('all-tags');
    if (all && tag) throw new Error("tag can't be used with --all-tags/-a");
    const compression = f.str('compression') || undefined;
    if (compression !== undefined && compression !== 'zstd' && compression !== 'gzip') {
      throw new Error(`invalid --compression "${compression}": zstd or gzip`);
    }
    const client = await cli.client();
    const auth = await loadAuth(cli.env, registryOf(ref));
    const renderer = new ProgressRenderer(cli.stdout);
    await client.imagePush(
      repo,
      { tag: all ? undefined : tag || 'latest', compression },
      auth ? encodeRegistryAuth(auth) : undefined,
      (m) => {
        if (!f.bool('quiet')) renderer.render(m);
      },
    );
    if (f.bool('quiet')) cli.stdout.write(`${ref}\n`);
    return 0;
  },
};
