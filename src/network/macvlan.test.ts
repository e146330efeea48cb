import { describe, expect, it } from 'vitest';

import { planNetwork } from './create-plan.js';
import { macvlanLines, ownParentLines, ownParentNames } from './macvlan.js';

describe('macvlan lines', () => {
  it('makes the interface inside the namespace, with its MAC unless passthru', () => {
    expect(
      macvlanLines({
        parent: 'eth9',
        ifName: 'eth1',
        netnsPath: '/run/wharf/netns/abc',
        mode: 'bridge',
        macAddress: '02:42:0a:00:00:02',
      }),
    ).toEqual([
      'link add link eth9 name eth1 netns /run/wharf/netns/abc address 02:42:0a:00:00:02 type macvlan mode bridge',
    ]);
    expect(
      macvlanLines({ parent: 'eth9', ifName: 'eth0', netnsPath: '/n', mode: 'passthru' }),
    ).toEqual(['link add link eth9 name eth0 netns /n type macvlan mode passthru']);
    expect(() =>
      macvlanLines({ parent: 'a b', ifName: 'eth0', netnsPath: '/n', mode: 'bridge' }),
    ).toThrow(/parent interface name/);
  });

  it("names Wharf's own parent after the network", () => {
    const id = '0123456789abcdef'.repeat(4);
    expect(ownParentNames(id)).toEqual({ parent: 'dm-0123456789ab', peer: 'dp-0123456789ab' });
    expect(ownParentLines(id)[0]).toBe(
      'link add name dm-0123456789ab type veth peer name dp-0123456789ab',
    );
  });
});

describe('planNetwork -d macvlan', () => {
  it('takes parent and mode; --internal drops the parent (Wharf makes one)', () => {
    const p = planNetwork({
      Name: 'm',
      Driver: 'macvlan',
      Options: { parent: 'eth9', macvlan_mode: 'vepa' },
      IPAM: { Config: [{ Subnet: '10.9.0.0/24', Gateway: '10.9.0.254' }] },
    });
    expect(p.macvlan).toEqual({ parent: 'eth9', mode: 'vepa' });
    expect(p.options).toEqual({ parent: 'eth9', macvlan_mode: 'vepa' });
    expect(planNetwork({ Name: 'm', Driver: 'macvlan' }).macvlan).toEqual({ mode: 'bridge' });
    expect(
      planNetwork({ Name: 'm', Driver: 'macvlan', Internal: true, Options: { parent: 'eth9' } })
        .macvlan,
    ).toEqual({ mode: 'bridge' });
  });

  it("refuses in dockerd's words, and ipvlan (not in this kernel)", () => {
    expect(() =>
      planNetwork({ Name: 'm', Driver: 'macvlan', Options: { macvlan_mode: 'x' } }),
    ).toThrow(
      "requested macvlan mode 'x' is not valid, 'bridge' mode is the macvlan driver default",
    );
    expect(() => planNetwork({ Name: 'm', Driver: 'macvlan', Options: { foo: '1' } })).toThrow(
      /unknown macvlan network option foo/,
    );
    expect(() => planNetwork({ Name: 'm', Driver: 'ipvlan' })).toThrow(/no ipvlan support/);
  });
});
