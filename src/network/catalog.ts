import { randomBytes } from 'node:crypto';

import type { NetworkPruneResponse, NetworkResource } from '../api-types/index.js';
import { errorMessage, notFound, WharfError, type Logger } from '../common/index.js';
import { networkListFilter, networkPruneFilter } from './filters.js';
import { NETWORK_SCHEMA_VERSION, recordWriter, type NetworkRecord } from './store.js';
import type { UserNetworks } from './user-networks.js';
import { networkView } from './views.js';

export interface NetworkCatalogOptions {
  defaultBridge: NetworkRecord;
  /** The records of the predefined `host` and `none` networks (IDs stable across restarts). */
  predefined: NetworkRecord[];
  users: UserNetworks;
  defaultMtu: number;
  logger: Logger;
}

/**
 * Every network as the /networks API sees it: the default bridge, `host`, `none` and the
 * user-defined networks, found by ID, name or ID prefix (Docker's order), listed with
 * filters, removed and pruned (only user-defined ones).
 */
export class NetworkCatalog {
  readonly predefined: NetworkRecord[];

  constructor(private readonly o: NetworkCatalogOptions) {
    this.predefined = o.predefined;
  }

  /** Every network as Docker lists them; `names` gives running containers' names. */
  list(
    filters: Map<string, string[]>,
    names: (cid: string) => string | undefined,
  ): NetworkResource[] {
    const match = networkListFilter(filters);
    const out: NetworkResource[] = [];
    for (const rec of this.all()) {
      const view = networkView(rec, { defaultMtu: this.o.defaultMtu });
      const endpoints = Object.keys(rec.endpoints).filter((c) => names(c) !== undefined).length;
      if (match({ view, endpoints, builtin: !rec.user })) out.push(view);
    }
    return out;
  }

  /** GET /networks/{id}: by ID, name or ID prefix, predefined networks included. */
  inspect(ref: string, names: (cid: string) => string | undefined): NetworkResource {
    return networkView(this.record(ref), { defaultMtu: this.o.defaultMtu, containers: names });
  }

  /** Name and ID of a network given by ID, name or prefix (host/none/bridge included). */
  resolve(ref: string): { id: string; name: string; builtin: boolean } {
    const rec = this.record(ref);
    return { id: rec.id, name: rec.name, builtin: !rec.user };
  }

  async remove(ref: string): Promise<void> {
    const rec = this.record(ref);
    if (!rec.user)
      throw new WharfError(
        'forbidden',
        'ERR_FORBIDDEN',
        `${rec.name} is a pre-defined network and cannot be removed`,
      );
    await this.o.users.remove(rec.id);
  }

  /** Remove user-defined networks no container is attached to, matching `filters`. */
  async prune(filters: Map<string, string[]>): Promise<NetworkPruneResponse> {
    const match = networkPruneFilter(filters);
    const deleted: string[] = [];
    for (const net of this.o.users.all()) {
      if (Object.keys(net.record.endpoints).length > 0) continue;
      if (!match(networkView(net.record, { defaultMtu: this.o.defaultMtu }))) continue;
      try {
        await this.o.users.remove(net.id);
        deleted.push(net.name);
      } catch (err) {
        // Raced with a container start (now attached): not unused after all.
        this.o.logger.warn({ network: net.name, err: errorMessage(err) }, 'network prune');
      }
    }
    return { NetworksDeleted: deleted };
  }

  /** The network's record (by ID, name or ID prefix); not found as Docker says it. */
  private record(ref: string): NetworkRecord {
    const pre = [this.o.defaultBridge, ...this.predefined];
    const hit =
      pre.find((r) => r.id === ref) ??
      this.o.users.find(ref)?.record ??
      pre.find((r) => r.name === ref) ??
      (/^[0-9a-f]+$/.test(ref) ? pre.find((r) => r.id.startsWith(ref)) : undefined);
    if (!hit) throw notFound(`network ${ref} not found`);
    return hit;
  }

  private all(): NetworkRecord[] {
    return [this.o.defaultBridge, ...this.predefined, ...this.o.users.all().map((n) => n.record)];
  }
}

/** The `host` and `none` networks' records, made (with new IDs) on the first start. */
export async function predefinedRecords(
  records: readonly NetworkRecord[],
  dir: string,
): Promise<NetworkRecord[]> {
  const out: NetworkRecord[] = [];
  for (const [name, driver] of [
    ['host', 'host'],
    ['none', 'null'],
  ] as const) {
    let rec = records.find((r) => r.name === name && !r.user);
    if (!rec) {
      rec = {
        schemaVersion: NETWORK_SCHEMA_VERSION,
        id: randomBytes(32).toString('hex'),
        name,
        driver,
        bridgeName: '',
        subnet: '',
        gateway: '',
        created: new Date().toISOString(),
        endpoints: {},
      };
      await recordWriter(dir, () => rec!).save();
    }
    out.push(rec);
  }
  return out;
}
