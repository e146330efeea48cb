import * as dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';

import { decide, decideFor, nameservers, ptrAddress, type DnsNetwork } from './dns-answer.js';

const NETS: DnsNetwork[] = [
  {
    id: 'n1',
    gateway: '10.1.0.1',
    internal: false,
    endpoints: [
      { containerId: 'a', ip: '10.1.0.2', names: ['web', 'www', 'aaaaaaaaaaaa'] },
      { containerId: 'b', ip: '10.1.0.3', names: ['api'], upstreams: ['127.0.0.53'] },
      { containerId: 'c', ip: '10.1.0.4', ipv6: 'fd00:1::4', names: ['api2', 'www'] },
    ],
  },
  {
    id: 'n2',
    gateway: '10.2.0.1',
    internal: true,
    endpoints: [
      { containerId: 'a', ip: '10.2.0.2', names: ['web'] },
      { containerId: 'd', ip: '10.2.0.3', names: ['db'] },
    ],
  },
];

function query(name: string, type: dnsPacket.RecordType = 'A'): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name }],
  });
}

function answer(raw: Buffer, from: string, local: string) {
  const d = decide(raw, from, local, NETS);
  if (d.kind !== 'answer') return d;
  const p = dnsPacket.decode(d.response);
  return {
    kind: 'answer',
    id: p.id,
    rcode: (p.flags ?? 0) & 0xf,
    data: (p.answers ?? []).map((a) => ('data' in a ? a.data : undefined)),
  };
}

describe('decide', () => {
  it('answers names, aliases and short IDs of the networks the querier is on', () => {
    expect(answer(query('web'), '10.1.0.3', '10.1.0.1')).toEqual({
      kind: 'answer',
      id: 4242,
      rcode: 0,
      data: ['10.1.0.2'],
    });
    expect(answer(query('AAAAAAAAAAAA.'), '10.1.0.3', '10.1.0.1')).toMatchObject({
      data: ['10.1.0.2'],
    });
    // A shared alias gives every address.
    expect(answer(query('www'), '10.1.0.3', '10.1.0.1')).toMatchObject({
      data: ['10.1.0.2', '10.1.0.4'],
    });
    // a is on both networks: it sees db through n2, asked on n1's listener.
    expect(answer(query('db'), '10.1.0.2', '10.1.0.1')).toMatchObject({ data: ['10.2.0.3'] });
  });

  it('keeps names scoped: b (n1 only) does not see db (n2)', () => {
    expect(decide(query('db'), '10.1.0.3', '10.1.0.1', NETS)).toEqual({
      kind: 'forward',
      upstreams: ['127.0.0.53'],
    });
    expect(decide(query('example.org'), '10.1.0.4', '10.1.0.1', NETS)).toEqual({
      kind: 'forward',
      upstreams: [],
    });
  });

  it('refuses queriers that are not on the listener network', () => {
    expect(answer(query('web'), '10.2.0.3', '10.1.0.1')).toMatchObject({ rcode: 5 });
    expect(answer(query('web'), '192.0.2.1', '10.1.0.1')).toMatchObject({ rcode: 5 });
  });

  it('gives NODATA for other types of a known name, SERVFAIL on internal-only networks', () => {
    expect(answer(query('web', 'AAAA'), '10.1.0.3', '10.1.0.1')).toMatchObject({
      rcode: 0,
      data: [],
    });
    expect(answer(query('example.org'), '10.2.0.3', '10.2.0.1')).toMatchObject({ rcode: 2 });
  });

  it('answers AAAA with the v6 addresses of dual-stack endpoints', () => {
    expect(answer(query('api2', 'AAAA'), '10.1.0.3', '10.1.0.1')).toMatchObject({
      rcode: 0,
      data: ['fd00:1::4'],
    });
    // 'www' is two containers, one of them v4-only: one AAAA, two A.
    expect(answer(query('www', 'AAAA'), '10.1.0.3', '10.1.0.1')).toMatchObject({
      data: ['fd00:1::4'],
    });
    expect(answer(query('www'), '10.1.0.3', '10.1.0.1')).toMatchObject({
      data: ['10.1.0.2', '10.1.0.4'],
    });
  });

  it('decideFor: the querier is known by its socket (127.0.0.11 in its namespace)', () => {
    const d = decideFor(query('db'), 'a', NETS);
    expect(d.kind).toBe('answer');
    const p = dnsPacket.decode((d as { response: Buffer }).response);
    expect((p.answers ?? []).map((x) => ('data' in x ? x.data : undefined))).toEqual(['10.2.0.3']);
    // 'd' is only on n2: n1's names are out of its scope, and n2 is internal (no forward).
    const out = decideFor(query('api'), 'd', NETS);
    expect(dnsPacket.decode((out as { response: Buffer }).response).flags! & 0xf).toBe(2);
    expect(decideFor(query('db'), 'nobody', NETS)).toMatchObject({ kind: 'answer' });
  });

  it('answers PTR for container addresses in scope', () => {
    expect(answer(query('2.0.1.10.in-addr.arpa', 'PTR'), '10.1.0.3', '10.1.0.1')).toMatchObject({
      data: ['web'],
    });
    expect(ptrAddress('4.3.2.1.in-addr.arpa.')).toBe('1.2.3.4');
    expect(ptrAddress('example.org')).toBeUndefined();
  });

  it('drops garbage and responses', () => {
    expect(decide(Buffer.from('nonsense'), '10.1.0.3', '10.1.0.1', NETS)).toEqual({ kind: 'drop' });
    const resp = dnsPacket.encode({
      type: 'response',
      id: 1,
      questions: [{ type: 'A', name: 'x' }],
    });
    expect(decide(resp, '10.1.0.3', '10.1.0.1', NETS)).toEqual({ kind: 'drop' });
  });
});

describe('nameservers', () => {
  it('reads IPv4 nameserver lines', () => {
    expect(
      nameservers('# c\nnameserver 10.0.0.2\nnameserver ::1\nsearch x\nnameserver 1.1.1.1\n'),
    ).toEqual(['10.0.0.2', '1.1.1.1']);
  });
});
