import { describe, expect, it } from 'vitest';

import { parsePs } from './query.js';

const PS_EF = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init splash
root        4242       1  0 10:01 ?        00:00:00 sh -c while true; do sleep 1; done
root        4243    4242  0 10:01 ?        00:00:00 sleep 1
user        5000       1  0 10:02 pts/0    00:00:00 bash
`;

describe('parsePs', () => {
  it("keeps the titles and only the container's processes", () => {
    const out = parsePs(PS_EF, new Set(['4242', '4243']));
    expect(out.Titles).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    expect(out.Processes).toEqual([
      ['root', '4242', '1', '0', '10:01', '?', '00:00:00', 'sh -c while true; do sleep 1; done'],
      ['root', '4243', '4242', '0', '10:01', '?', '00:00:00', 'sleep 1'],
    ]);
  });

  it('keeps a command with spaces as one column whatever the PID column', () => {
    const out = parsePs('  PID COMMAND\n   7 /bin/app --flag  value\n   8 other\n', new Set(['7']));
    expect(out.Titles).toEqual(['PID', 'COMMAND']);
    expect(out.Processes).toEqual([['7', '/bin/app --flag value']]);
  });

  it('returns no processes when none belong to the container', () => {
    expect(parsePs(PS_EF, new Set(['99'])).Processes).toEqual([]);
  });

  it('refuses output without a PID column', () => {
    expect(() => parsePs('USER COMMAND\nroot sh\n', new Set(['1']))).toThrow(
      "Couldn't find PID field in ps output",
    );
    expect(() => parsePs('', new Set(['1']))).toThrow("Couldn't find PID field in ps output");
  });
});
