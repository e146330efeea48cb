/** docker's networkContext: what `network ls --format` templates see for each network. */
import type { NetworkResource } from '../../../api-types/index.js';
import { makeContext } from '../../format/formatter.js';

export const NETWORK_HEADERS: Record<string, string> = {
  ID: 'NETWORK ID',
  Name: 'NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  IPv4: 'IPV4',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  Labels: 'LABELS',
  CreatedAt: 'CREATED AT',
};

export const NETWORK_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';

export function networkContext(n: NetworkResource, noTrunc: boolean): object {
  const labels = n.Labels ?? {};
  return makeContext(
    'networkContext',
    {
      ID: noTrunc ? n.Id : n.Id.slice(0, 12),
      Name: n.Name,
      Driver: n.Driver,
      Scope: n.Scope,
      IPv4: String(n.EnableIPv4 ?? true),
      IPv6: String(n.EnableIPv6),
      Internal: String(n.Internal),
      Labels: Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
      CreatedAt: n.Created,
    },
    { Label: (key: string) => labels[key] ?? '' },
  );
}
