import { describe, expect, it } from 'vitest';

import type { ContainerSummary } from '../../../api-types/index.js';
import { displayablePorts, ellipsis, psContext, truncateId } from './ps-context.js';

const base: ContainerSummary = {
  Id: 'df5804d4c72a50457e209963984b6a4eddf86d9c5a6a0a9d7780fecc10b9c26e',
  Names: ['/web', '/other/link'],
  Image: 'busybox@sha256:abcd',
  ImageID: 'sha256:1b08636dda27',
  Command: 'sh -c "while true; do sleep 1; done"',
  Created: 1_000,
  Ports: [],
  Labels: { b: '2', a: '1' },
  State: 'running',
  Status: 'Up 3 seconds',
};

describe('psContext', () => {
  it('formats like docker ps', () => {
    const c = psContext(base, { trunc: true, now: 1_005_000 }) as Record<string, string>;
    expect(c.ID).toBe('df5804d4c72a');
    expect(c.Names).toBe('web');
    expect(c.Image).toBe('busybox');
    expect(c.Command).toBe('"sh -c \\"while true; …"');
    expect(c.RunningFor).toBe('5 seconds ago');
    expect(c.Labels).toBe('a=1,b=2');
    expect(c.Size).toBe('0B');
    expect((c as unknown as { Label: (k: string) => string }).Label('a')).toBe('1');
    const full = psContext(base, { trunc: false, now: 1_005_000 }) as Record<string, string>;
    expect(full.ID).toBe(base.Id);
    expect(full.Names).toBe('web,other/link');
    expect(full.Command).toBe(JSON.stringify(base.Command));
  });

  it('truncates ids and text like docker', () => {
    expect(truncateId('sha256:0123456789abcdef')).toBe('0123456789ab');
    expect(ellipsis('abcdef', 4)).toBe('abc…');
    expect(ellipsis('abc', 4)).toBe('abc');
  });

  it('groups ports like DisplayablePorts', () => {
    expect(
      displayablePorts([
        { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
        { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
        { PrivatePort: 53, Type: 'udp' },
        { PrivatePort: 9000, Type: 'tcp' },
        { PrivatePort: 9001, Type: 'tcp' },
      ]),
    ).toBe('53/udp, 9000-9001/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp');
    expect(
      displayablePorts([{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 80, Type: 'tcp' }]),
    ).toBe('0.0.0.0:80->80/tcp');
  });
});
