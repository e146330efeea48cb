import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { internal, isErrno, readJson, writeJsonAtomic } from '../common/index.js';
import type { PortMapping } from './ports.js';

export const NETWORK_SCHEMA_VERSION = 1;

/** A container's endpoint on a network, as persisted. */
export interface EndpointRecord {
  endpointId: string;
  ipAddress: string;
  macAddress: string;
  hostVeth: string;
  /** The interface inside the container (default bridge: eth0). */
  ifName?: string;
  /** macvlan endpoints: the namespace holding the interface (deleted there on disconnect). */
  netnsPath?: string;
  /** The container's resolver is a socket on 127.0.0.11 in that namespace (reopened at start). */
  netnsDns?: boolean;
  /** The v6 address on a dual-stack network. */
  ipv6Address?: string;
  /** The address was asked for (--ip), not allocated. */
  staticIp?: boolean;
  aliases?: string[];
  /** Names the embedded DNS answers with this address: name, aliases, short ID. */
  dnsNames?: string[];
  /** The container's --dns servers (the embedded DNS forwards there instead of the host's). */
  dnsUpstreams?: string[];
  /** Ports published to this endpoint's address (the container's primary endpoint only). */
  ports?: PortMapping[];
}

/** One network and its address allocations: `<dataRoot>/network/networks/<id>.json`. */
export interface NetworkRecord {
  schemaVersion: number;
  id: string;
  name: string;
  /** 'host' and 'null' are the predefined networks `host` and `none` (no subnet, no bridge). */
  driver: 'bridge' | 'host' | 'null' | 'macvlan';
  bridgeName: string;
  subnet: string;
  gateway: string;
  created: string;
  /**
   * The default bridge only: its v6 subnet and gateway (daemon `ipv6` + `fixed-cidr-v6`).
   * User-defined networks keep theirs in `user.ipv6`.
   */
  ipv6?: { subnet: string; gateway: string };
  /** User-defined networks only (the default bridge and host/none have none of these). */
  user?: {
    internal: boolean;
    attachable: boolean;
    labels: Record<string, string>;
    options: Record<string, string>;
    ipRange?: string;
    auxAddresses?: Record<string, string>;
    /** Whether IPAM.Config gave the subnet (else it came from the default pools). */
    ipamConfigured: boolean;
    mtu?: number;
    icc: boolean;
    /** `--ipv6`: the v6 subnet and gateway (dual stack; the v4 ones above stay). */
    ipv6?: {
      subnet: string;
      gateway: string;
      ipamConfigured: boolean;
      ipRange?: string;
      auxAddresses?: Record<string, string>;
    };
    /** `-d macvlan`: the parent interface, and whether Wharf made it (`bridgeName` then). */
    macvlan?: { parent: string; mode: string; own: boolean; gatewayGiven?: boolean };
  };
  /** By container ID. */
  endpoints: Record<string, EndpointRecord>;
}

export async function loadNetworks(dir: string): Promise<NetworkRecord[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const out: NetworkRecord[] = [];
  for (const n of names) {
    if (!/^[0-9a-f]{64}\.json$/.test(n)) continue; // temp files of an interrupted write
    const rec = await readJson<NetworkRecord>(path.join(dir, n));
    if (rec === undefined) continue;
    if (rec.schemaVersion !== NETWORK_SCHEMA_VERSION) {
      throw internal(`network record ${n}: unsupported schemaVersion ${rec.schemaVersion}`);
    }
    out.push(rec);
  }
  return out;
}

/**
 * Group commit for one record: save() resolves once a write that began after the call has
 * completed (and reached the disk, unless every caller sharing it said `durable: false`).
 * Writes never overlap, and callers arriving while one is in flight share the next, so 50
 * concurrent connects cost a handful of fsyncs, not 50.
 */
export class CoalescingWriter {
  private next: { done: Promise<void>; durable: boolean } | undefined;
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly write: (durable: boolean) => Promise<void>) {}

  save(opts: { durable?: boolean } = {}): Promise<void> {
    const durable = opts.durable ?? true;
    if (this.next) {
      // Not begun yet (it is cleared as it begins): it becomes durable if anyone asks.
      this.next.durable ||= durable;
      return this.next.done;
    }
    const next = { done: Promise.resolve(), durable };
    next.done = this.tail
      .catch(() => undefined)
      .then(() => {
        // From here on, changes need another write: this one may already have its snapshot.
        this.next = undefined;
        return this.write(next.durable);
      });
    this.next = next;
    this.tail = next.done;
    return next.done;
  }
}

export function recordWriter(dir: string, snapshot: () => NetworkRecord): CoalescingWriter {
  return new CoalescingWriter(async (durable) => {
    const rec = snapshot();
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    await writeJsonAtomic(path.join(dir, `${rec.id}.json`), rec, 0o600, { durable });
  });
}

export async function deleteRecord(dir: string, id: string): Promise<void> {
  await fsp.rm(path.join(dir, `${id}.json`), { force: true });
}
