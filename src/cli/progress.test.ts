import { describe, expect, it } from 'vitest';

import { progressText, ProgressRenderer } from './progress.js';

function capture(tty: boolean, columns = 120) {
  let text = '';
  const out = { isTTY: tty, columns, write: (s: string) => (text += s) };
  return { out, text: () => text };
}

const pull = [
  { status: 'Pulling from library/busybox', id: 'latest' },
  { status: 'Pulling fs layer', progressDetail: {}, id: 'aaa' },
  { status: 'Pulling fs layer', progressDetail: {}, id: 'bbb' },
  { status: 'Downloading', progressDetail: { current: 500, total: 1000 }, id: 'aaa' },
  { status: 'Download complete', progressDetail: {}, id: 'aaa' },
  { status: 'Pull complete', progressDetail: {}, id: 'bbb' },
  { status: 'Digest: sha256:abc' },
];

describe('ProgressRenderer', () => {
  it('prints plain lines without progress bars when not a terminal', () => {
    const c = capture(false);
    const r = new ProgressRenderer(c.out);
    for (const m of pull) r.render(m);
    expect(c.text()).toBe(
      [
        'latest: Pulling from library/busybox',
        'aaa: Pulling fs layer',
        'bbb: Pulling fs layer',
        'aaa: Download complete',
        'bbb: Pull complete',
        'Digest: sha256:abc',
        '',
      ].join('\n'),
    );
  });

  it('redraws layer lines in place on a terminal', () => {
    const c = capture(true);
    const r = new ProgressRenderer(c.out);
    for (const m of pull.slice(0, 4)) r.render(m);
    const t = c.text();
    // aaa is 2 lines above the cursor when bbb exists: up 2, redraw, down 2.
    expect(t).toContain('\x1b[2A\x1b[2K\raaa: Downloading [=========================>');
    expect(t.endsWith('\x1b[2B')).toBe(true);
    expect(t).toContain('     500B/1kB\r');
  });
});

describe('progressText', () => {
  it('draws a 50-column bar, numbers only on narrow terminals', () => {
    expect(progressText({ current: 12_300_000, total: 50_000_000 }, 200)).toBe(
      `[${'='.repeat(12)}>${' '.repeat(38)}]   12.3MB/50MB`,
    );
    expect(progressText({ current: 12_300_000, total: 50_000_000 }, 80)).toBe('  12.3MB/50MB');
    expect(progressText({ current: 2048 }, 200)).toBe(' 2.048kB');
    expect(progressText({}, 200)).toBe('');
  });
});
