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

const DOMAIN = /^([^/]+\.[^/]+|localhost|[^/]+:\d+)\//;
const PATH = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** docker's reference.ParseNormalizedNamed verdict on a repository name, or '' if valid. */
function referenceError(repo: string): string {
  const path = repo.replace(DOMAIN, '');
  if (PATH.test(path)) return '';
  if (PATH.test(path.toLowerCase())) {
    const named = DOMAIN.test(repo) || path.includes('/') ? path : `library/${path}`;
    return `invalid reference format: repository name (${named}) must be lowercase`;
  }
  return 'invalid reference format';
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
    const reason = referenceError(repo);
    if (reason) {
      throw new StatusError(
        1,
        `Error parsing reference: "${target}" is not a valid repository/tag: ${reason}`,
      );
    }
    const client = await cli.client();
    await client.imageTag(source, repo, tag || 'latest');
    return 0;
  },
};
