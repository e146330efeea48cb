/** docker's imageContext: one row per repository:tag of each image. */
import type { ImageSummary } from '../../../api-types/index.js';
import { makeContext } from '../../format/formatter.js';
import { goTimeString, humanSize, timeAgo } from '../../units.js';
import { truncateId } from '../container/ps-context.js';

export const IMAGES_HEADERS: Record<string, string> = {
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  ID: 'IMAGE ID',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
  VirtualSize: 'SIZE',
};

export const IMAGES_TABLE =
  'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
export const IMAGES_TABLE_DIGESTS =
  'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';

/** reference.FamiliarName: "docker.io/library/busybox" → "busybox". */
export function familiarName(name: string): string {
  if (name.startsWith('docker.io/library/')) return name.slice('docker.io/library/'.length);
  if (name.startsWith('docker.io/')) return name.slice('docker.io/'.length);
  return name;
}

function splitTag(ref: string): [string, string] | undefined {
  const at = ref.indexOf('@');
  const base = at >= 0 ? ref.slice(0, at) : ref;
  const colon = base.lastIndexOf(':');
  if (colon < 0 || base.slice(colon).includes('/')) return undefined;
  return [base.slice(0, colon), base.slice(colon + 1)];
}

interface Row {
  repo: string;
  tag: string;
  digest: string;
}

export function imageRows(img: ImageSummary, withDigests: boolean): Row[] {
  const tags = new Map<string, string[]>();
  const digests = new Map<string, string[]>();
  for (const ref of img.RepoTags ?? []) {
    if (ref === '<none>:<none>') continue;
    const t = splitTag(ref);
    if (!t) continue;
    const repo = familiarName(t[0]);
    tags.set(repo, [...(tags.get(repo) ?? []), t[1]]);
  }
  for (const ref of img.RepoDigests ?? []) {
    const at = ref.indexOf('@');
    if (at < 0 || ref === '<none>@<none>') continue;
    const repo = familiarName(ref.slice(0, at));
    digests.set(repo, [...(digests.get(repo) ?? []), ref.slice(at + 1)]);
  }
  const rows: Row[] = [];
  for (const repo of [...tags.keys()].sort()) {
    const ds = withDigests ? (digests.get(repo) ?? []) : [];
    digests.delete(repo);
    for (const tag of tags.get(repo) ?? []) {
      if (ds.length === 0) rows.push({ repo, tag, digest: '<none>' });
      else for (const d of ds) rows.push({ repo, tag, digest: d });
    }
  }
  for (const repo of [...digests.keys()].sort()) {
    if (withDigests)
      for (const d of digests.get(repo) ?? []) rows.push({ repo, tag: '<none>', digest: d });
    else rows.push({ repo, tag: '<none>', digest: '<none>' });
  }
  if (rows.length === 0) rows.push({ repo: '<none>', tag: '<none>', digest: '<none>' });
  return rows;
}

export function imageContexts(
  img: ImageSummary,
  opts: { trunc: boolean; digests: boolean; now?: number },
): object[] {
  return imageRows(img, opts.digests).map((r) =>
    makeContext('*formatter.imageContext', {
      Containers:
        img.Containers === -1 || img.Containers === undefined ? 'N/A' : String(img.Containers),
      CreatedAt: goTimeString(img.Created),
      CreatedSince: img.Created > 0 ? timeAgo(img.Created, opts.now) : 'N/A',
      Digest: r.digest,
      ID: opts.trunc ? truncateId(img.Id) : img.Id,
      Repository: r.repo,
      SharedSize:
        img.SharedSize === -1 || img.SharedSize === undefined
          ? 'N/A'
          : humanSize(img.SharedSize, 4),
      Size: humanSize(img.Size),
      Tag: r.tag,
      UniqueSize:
        img.SharedSize === -1 || img.SharedSize === undefined
          ? 'N/A'
          : humanSize(img.Size - img.SharedSize, 4),
      // docker: units.HumanSize (4 significant digits), unlike Size's 3.
      VirtualSize: humanSize(img.VirtualSize ?? img.Size, 4),
    }),
  );
}
