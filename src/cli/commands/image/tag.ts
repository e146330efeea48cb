import type { CommandSpec } from '../../command.js';
import { StatusError } from '../../command.js';

/** Splits "repo[:tag]" at the tag colon (not a registry port's). */
export function splitRepoTag(ref: string): { repo: string; tag: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { repo: ref.slice(0, at), tag: '' };
  const colon = ref.lastIndexOf(':');
  if (colon < 0 || ref.slice(colon).includes('/')) return { repo: ref, tag: '' };
  return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}

export const command: CommandSpec = {
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  aliases: ['wharf image tag', 'wharf tag'],
  flags: [],
  args: { min: 2, max: 2 },
  async run(cli, _f, args) {
    const [source, target] = args as [string, string];
    const { repo, tag } = splitRepoTag(target);
    if (
      !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(
        repo.replace(/^([^/]+\.[^/]+|localhost)(:\d+)?\//, 'x/'),
      )
    ) {
      throw new StatusError(
        1,
        `Error parsing reference: "${target}" is not a valid repository/tag: invalid reference format`,
      );
    }
    const client = await cli.client();
    await client.imageTag(source, repo, tag || 'latest');
    return 0;
  },
};
