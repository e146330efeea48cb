/** docker's volumeContext: what `volume ls --format` templates see for each volume. */
import type { Volume } from '../../../api-types/index.js';
import { humanSize } from '../../units.js';
import { makeContext } from '../../format/formatter.js';

export const VOLUME_HEADERS: Record<string, string> = {
  Name: 'VOLUME NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  Mountpoint: 'MOUNTPOINT',
  Labels: 'LABELS',
  Links: 'LINKS',
  Size: 'SIZE',
  Group: 'GROUP',
  Availability: 'AVAILABILITY',
  Status: 'STATUS',
};

export const VOLUME_TABLE = 'table {{.Driver}}\t{{.Name}}';

export function volumeContext(v: Volume): object {
  const labels = v.Labels ?? {};
  return makeContext(
    'volumeContext',
    {
      Name: v.Name,
      Driver: v.Driver,
      Scope: v.Scope,
      Mountpoint: v.Mountpoint,
      Labels: Object.entries(labels)
        .map(([k, val]) => `${k}=${val}`)
        .join(','),
      // Only `system df -v` gets UsageData; elsewhere docker shows N/A.
      Links: v.UsageData ? String(v.UsageData.RefCount) : 'N/A',
      Size: v.UsageData ? humanSize(v.UsageData.Size, 4) : 'N/A',
      Group: '',
      Availability: 'N/A',
      Status: 'N/A',
    },
    { Label: (key: string) => labels[key] ?? '' },
  );
}

/** docker sorts volumes by name, natural order ("v2" before "v10"). */
export function naturalLess(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true, sensitivity: 'variant' }) || (a < b ? -1 : 1);
}

/** `key=value` list flags as a map (a bare key maps to ""). */
export function keyValues(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of list) {
    const i = e.indexOf('=');
    if (i < 0) out[e] = '';
    else out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}
