import { encodeRegistryAuth } from '../../../client/index.js';
import type { CommandSpec } from '../../command.js';
import { loadAuth, registryOf } from '../../docker-config.js';
import { ProgressRenderer } from '../../progress.js';
import { splitRepoTag } from './tag.js';
import { normalizeRef } from './reference.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  description: 'Download an image from a registry',
  aliases: ['wharf image pull', 'wharf pull'],
  flags: [
    {
      name: 'all-tags',
      short: 'a',
      type: 'bool',
      help: 'Download all tagged images in the repository',
    },
    { name: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress verbose output' },
  ],
  args: { min: 1, max: 1 },
  async run(cli, f, args) {
    const ref = args[0]!;
    const all = f.bool('all-tags');
    const at = ref.indexOf('@');
    const { repo, tag } =
      at >= 0 ? { repo: ref.slice(0, at), tag: ref.slice(at + 1) } : splitRepoTag(ref);
    if (all && tag) throw new Error("tag can't be used with --all-tags/-a");
    const client = await cli.client();
    const auth = await loadAuth(cli.env, registryOf(ref));
    const renderer = new ProgressRenderer(cli.stdout);
    await client.imagePull(
      {
        fromImage: repo,
        tag: all ? undefined : tag || 'latest',
        platform: f.str('platform') || undefined,
      },
      auth ? encodeRegistryAuth(auth) : undefined,
      (m) => {
        if (!f.bool('quiet')) renderer.render(m);
      },
    );
    if (!all) cli.stdout.write(`${normalizeRef(ref)}\n`);
    return 0;
  },
};
