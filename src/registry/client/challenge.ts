/**
 * WWW-Authenticate challenges (RFC 7235) as registries send them, and the token scopes of the
 * distribution auth spec (`repository:library/busybox:pull,push`).
 */

export interface Challenge {
  /** Lower-cased: "basic" or "bearer" (others are kept but never answered). */
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parse a WWW-Authenticate header value, which may hold several challenges:
 * `Bearer realm="https://auth/token",service="registry",scope="repository:x:pull", Basic realm="r"`.
 * Parameter names are case-insensitive (lower-cased here); values may be tokens or quoted
 * strings with backslash escapes.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipWs = (): void => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipWs();
    if (header[i] === ',') {
      i++;
      continue;
    }
    const word = token();
    if (word === '') {
      i++; // a stray character: skip it rather than loop forever
      continue;
    }
    skipWs();
    if (header[i] === '=' && current) {
      // name=value (a parameter of the current challenge)
      i++;
      skipWs();
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++; // closing quote
      } else {
        value = token();
      }
      current.params[word.toLowerCase()] = value;
    } else {
      // A new scheme. (token68 credentials after a scheme are not used by registries.)
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

export type Action = 'pull' | 'push' | 'delete' | '*';

/** `repository:<name>:<actions>` */
export function repositoryScope(repo: string, actions: readonly Action[]): string {
  return `repository:${repo}:${[...new Set(actions)].join(',')}`;
}

/** Merge scopes naming the same resource (`repository:a:pull` + `repository:a:push`). */
export function mergeScopes(scopes: readonly string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  const order: string[] = [];
  for (const s of scopes) {
    const last = s.lastIndexOf(':');
    if (last <= 0) continue;
    const resource = s.slice(0, last);
    if (!byResource.has(resource)) {
      byResource.set(resource, new Set());
      order.push(resource);
    }
    for (const a of s.slice(last + 1).split(',')) if (a) byResource.get(resource)!.add(a);
  }
  return order.map((r) => `${r}:${[...byResource.get(r)!].sort().join(',')}`);
}
