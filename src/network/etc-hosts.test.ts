import { describe, expect, it } from 'vitest';

import { addHostsLine, removeHostsLine } from './etc-hosts.js';

const base = '127.0.0.1\tlocalhost\n192.0.2.1\tzz\n10.0.0.2\tabc\n';

describe('hosts lines for network connect / disconnect', () => {
  it('adds a line once', () => {
    const one = addHostsLine(base, '10.0.1.2', 'abc');
    expect(one).toBe(`${base}10.0.1.2\tabc\n`);
    expect(addHostsLine(one, '10.0.1.2', 'abc')).toBe(one);
    expect(addHostsLine('', '10.0.1.2', 'abc')).toBe('10.0.1.2\tabc\n');
  });

  it("removes only that address's line for the hostname", () => {
    const two = addHostsLine(base, '10.0.1.2', 'abc');
    expect(removeHostsLine(two, '10.0.0.2', 'abc')).toBe(
      '127.0.0.1\tlocalhost\n192.0.2.1\tzz\n10.0.1.2\tabc\n',
    );
    // A user's --add-host line with the same address but another name stays.
    expect(removeHostsLine(base, '192.0.2.1', 'abc')).toBe(base);
    expect(removeHostsLine(base, '10.9.9.9', 'abc')).toBe(base);
  });
});
