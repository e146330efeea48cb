import { describe, expect, it } from 'vitest';

import { encodeFrame, formatTimestamp } from './frame.js';
import { LineSplitter, formatLogLine, parseLogBuffer, parseLogLine } from './parse.js';

const T = BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1_000_000n;

describe('parseLogLine', () => {
  it('reads conmon records (local time with offset → UTC)', () => {
    const rec = parseLogLine(
      Buffer.from('2024-01-02T04:04:05.123456789+01:00 stdout F hello world'),
    );
    expect(rec).toEqual({
      ns: T + 123456789n,
      stream: 'stdout',
      partial: false,
      content: Buffer.from('hello world'),
    });
    const p = parseLogLine(Buffer.from('2024-01-02T03:04:05.000000001Z stderr P  two  spaces '));
    expect(p?.partial).toBe(true);
    expect(p?.stream).toBe('stderr');
    expect(p?.content.toString()).toBe(' two  spaces ');
  });

  it('empty lines, extra tags, missing trailing space', () => {
    expect(parseLogLine(Buffer.from('2024-01-02T03:04:05Z stdout F '))?.content.length).toBe(0);
    expect(parseLogLine(Buffer.from('2024-01-02T03:04:05Z stdout F'))?.content.length).toBe(0);
    expect(parseLogLine(Buffer.from('2024-01-02T03:04:05Z stdout P:x y'))?.partial).toBe(true);
  });

  it('binary content is kept byte for byte', () => {
    const content = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x20, 0x0d]);
    const line = formatLogLine({ ns: T, stream: 'stdout', content });
    expect(parseLogLine(line.subarray(0, -1))?.content).toEqual(content);
  });

  it.each([
    '',
    'garbage',
    '2024-01-02T03:04:05Z',
    '2024-01-02T03:04:05Z stdin F x',
    '2024-01-02T03:04:05Z stdout X x',
    '2024-13-02T03:04:05Z stdout F x',
    'not-a-time-at-all-xxxxxxx stdout F x',
    '\u0000'.repeat(30) + ' stdout F x',
  ])('rejects %j without throwing', (s) => expect(parseLogLine(Buffer.from(s))).toBeUndefined());

  it('never crashes on random bytes', () => {
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(Math.floor(Math.random() * 80));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(Math.random() * 256);
      parseLogLine(b);
    }
  });
});

describe('LineSplitter / parseLogBuffer', () => {
  const lines = [
    formatLogLine({ ns: T, stream: 'stdout', content: Buffer.from('one'), partial: true }),
    formatLogLine({ ns: T, stream: 'stdout', content: Buffer.from('two') }),
    Buffer.from('junk line\n'),
    formatLogLine({ ns: T, stream: 'stderr', content: Buffer.from('three') }),
  ];
  const all = Buffer.concat(lines);

  it('a torn last record is not emitted', () => {
    const torn = all.subarray(0, all.length - 4);
    expect(parseLogBuffer(torn).map((r) => r.content.toString())).toEqual(['one', 'two']);
    expect(parseLogBuffer(all).map((r) => r.content.toString())).toEqual(['one', 'two', 'three']);
  });

  it('records split at every byte boundary reassemble', () => {
    for (let cut = 0; cut <= all.length; cut++) {
      const s = new LineSplitter();
      const got = [...s.push(all.subarray(0, cut)), ...s.push(all.subarray(cut))].map((l) =>
        l.toString(),
      );
      expect(got).toEqual(all.toString().split('\n').slice(0, -1));
      expect(s.pending).toBe(0);
    }
  });

  it('drops an overlong garbage line to its newline', () => {
    const s = new LineSplitter(16);
    expect([...s.push(Buffer.from('x'.repeat(40)))]).toEqual([]);
    expect([...s.push(Buffer.from('yyy\nok\n'))].map(String)).toEqual(['ok']);
  });
});

describe('frames and timestamps', () => {
  it('encodeFrame writes docker stdcopy headers', () => {
    const f = encodeFrame(2, Buffer.from('hi\n'));
    expect([...f.subarray(0, 8)]).toEqual([2, 0, 0, 0, 0, 0, 0, 3]);
    expect(f.subarray(8).toString()).toBe('hi\n');
    const big = encodeFrame(1, Buffer.alloc(70000));
    expect(big.readUInt32BE(4)).toBe(70000);
    expect(big[0]).toBe(1);
  });

  it('formatTimestamp is dockerd rfc3339NanoFixed in UTC', () => {
    expect(formatTimestamp(T + 120000000n)).toBe('2024-01-02T03:04:05.120000000Z');
    expect(formatTimestamp('2024-01-02T04:04:05.123456789+01:00')).toBe(
      '2024-01-02T03:04:05.123456789Z',
    );
  });
});
