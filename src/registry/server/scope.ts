/**
 * Access scopes as docker's token protocol spells them: `repository:<name>:pull,push`,
 * `registry:catalog:*`. A request needs a list of them; a token or login grants some.
 */
export interface Access {
  type: string;
  name: string;
  actions: string[];
}

/** Parse one `scope` parameter, which may hold several space-separated scopes. */
export function parseScopes(scope: string): Access[] {
  const out: Access[] = [];
  for (const one of scope.split(' ')) {
    if (one === '') continue;
    // Names may hold a registry port (`host:5000/a`): type is before the first colon,
    // actions after the last.
    const first = one.indexOf(':');
    const last = one.lastIndexOf(':');
    if (first < 0 || last === first) continue;
    const actions = one
      .slice(last + 1)
      .split(',')
      .filter((a) => a !== '');
    out.push({ type: one.slice(0, first), name: one.slice(first + 1, last), actions });
  }
  return out;
}

export function formatScope(a: Access): string {
  return `${a.type}:${a.name}:${a.actions.join(',')}`;
}

/** Whether `granted` covers every action of every access in `needed`. */
export function covers(granted: readonly Access[], needed: readonly Access[]): boolean {
  return needed.every((n) =>
    n.actions.every((action) =>
      granted.some(
        (g) =>
          g.type === n.type &&
          g.name === n.name &&
          (g.actions.includes(action) || g.actions.includes('*')),
      ),
    ),
  );
}

/** The access a registry request needs, from its method and route. */
export function neededAccess(
  method: string,
  route: { repo?: string; catalog?: boolean },
): Access[] {
  if (route.catalog) return [{ type: 'registry', name: 'catalog', actions: ['*'] }];
  if (route.repo === undefined) return [];
  const m = method.toUpperCase();
  const actions =
    m === 'GET' || m === 'HEAD' ? ['pull'] : m === 'DELETE' ? ['delete'] : ['pull', 'push'];
  return [{ type: 'repository', name: route.repo, actions }];
}
