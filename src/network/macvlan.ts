import { batchToken, checkIfName } from './iproute.js';

/**
 * macvlan networks: no bridge; each endpoint is a macvlan interface on the parent, made
 * straight inside the container's namespace (one netlink request, as the veths of bridge
 * networks). Without a parent (or `--internal`) dockerd makes a dummy interface as parent;
 * this kernel has no dummy driver, so Wharf makes a veth pair `dm-<id12>`/`dp-<id12>` (both
 * ends up, nothing else on them) instead: macvlan children in bridge mode talk to each other
 * through it and nothing leaves the host. Pure line builders; unit-tested.
 */

/** The parent Wharf makes for network `id`, and its peer. */
export function ownParentNames(id: string): { parent: string; peer: string } {
  return { parent: `dm-${id.slice(0, 12)}`, peer: `dp-${id.slice(0, 12)}` };
}

export function ownParentLines(id: string): string[] {
  const { parent, peer } = ownParentNames(id);
  return [
    `link add name ${parent} type veth peer name ${peer}`,
    `link set dev ${peer} up`,
    `link set dev ${parent} up`,
  ];
}

export interface MacvlanPlan {
  parent: string;
  ifName: string;
  netnsPath: string;
  mode: string;
  /** Omitted in passthru mode (the interface takes the parent's address). */
  macAddress?: string;
}

/** Host side: the macvlan interface, born inside the container's namespace as ifName. */
export function macvlanLines(p: MacvlanPlan): string[] {
  const parent = checkIfName(p.parent, 'parent interface name');
  const name = checkIfName(p.ifName);
  const ns = batchToken(p.netnsPath, 'netns path');
  const mac = p.macAddress ? ` address ${batchToken(p.macAddress, 'MAC address')}` : '';
  const mode = batchToken(p.mode, 'macvlan mode');
  return [`link add link ${parent} name ${name} netns ${ns}${mac} type macvlan mode ${mode}`];
}
