import { randomBytes } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { run, silentLogger } from '../common/index.js';
import { cidrOverlaps, parseCidr } from './ipv4.js';
import { NetworkManager, type NetworkManagerOptions } from './manager.js';
import { routedSubnets, type RouteEntry } from './pools.js';

/**
 * Real bridges, veths, namespaces and iptables chains, all with unique names (random suffix)
 * and all deleted afterwards. Traffic only between namespaces we created and our bridge.
 */

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('skipping network root tests: they need root (bridges, netns, iptables)');

const PING =
  existsSync('/usr/bin/ping') || existsSync('/bin/ping') ? ['ping'] : ['busybox', 'ping'];

async function ping(netnsPath: string, addr: string): Promise<void> {
  await run(['nsenter', `--net=${netnsPath}`, ...PING, '-c1', '-W1', addr]);
}

async function links(): Promise<string[]> {
  const { stdout } = await run(['ip', '-j', 'link', 'show']);
  return (JSON.parse(stdout) as { ifname: string }[]).map((l) => l.ifname);
}

async function iptablesSave(): Promise<string> {
  return (await run(['iptables-save'])).stdout;
}

/** A 10.21x.y.0/24 that no route on the host overlaps (a bench daemon may hold a /16). */
async function freeSubnet(): Promise<string> {
  const { stdout } = await run(['ip', '-j', '-4', 'route', 'show', 'table', 'all']);
  const routed = routedSubnets(JSON.parse(stdout) as RouteEntry[]);
  for (let i = 0; i < 256; i++) {
    const candidate = `10.${210 + Math.floor(Math.random() * 10)}.${Math.floor(Math.random() * 256)}.0/24`;
    if (!routed.some((r) => cidrOverlaps(r, parseCidr(candidate)))) return candidate;
  }
  throw new Error('no free 10.21x.y.0/24 subnet');
}

const dirs: string[] = [];
const managers: NetworkManager[] = [];

async function options(): Promise<NetworkManagerOptions> {
  const suffix = randomBytes(4).toString('hex');
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-net-'));
  dirs.push(root);
  const subnet = await freeSubnet();
  return {
    execRoot: path.join(root, 'exec'),
    dataRoot: path.join(root, 'data'),
    bridgeName: `wt${suffix}`,
    bip: subnet.replace(/\.0\/24$/, '.1/24'),
    chainPrefix: `WT${suffix}`,
    logger: silentLogger(),
  };
}

async function open(opts: NetworkManagerOptions): Promise<NetworkManager> {
  const m = await NetworkManager.open(opts);
  managers.push(m);
  return m;
}

async function assertNothingLeft(opts: NetworkManagerOptions, veths: string[]): Promise<void> {
  const now = await links();
  expect(now).not.toContain(opts.bridgeName);
  for (const v of veths) expect(now).not.toContain(v);
  expect(await iptablesSave()).not.toContain(opts.chainPrefix);
  expect(existsSync(path.join(opts.execRoot, 'netns'))).toBe(false);
  expect(await fsp.readdir(path.join(opts.dataRoot, 'network', 'networks'))).toEqual([]);
  const mounts = await fsp.readFile('/proc/self/mountinfo', 'utf8');
  expect(mounts).not.toContain(opts.execRoot);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

describe.skipIf(!isRoot)('NetworkManager (root)', () => {
  afterEach(async () => {
    // Teardown is idempotent: safe after a test that already tore down.
    for (const m of managers.splice(0)) await m.teardown();
  });
  afterAll(async () => {
    for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
  });

  it('connects two namespaces that reach each other and the gateway, then leaves nothing', async () => {
    const opts = await options();
    const m = await open(opts);
    expect(m.bridge.id).toMatch(/^[0-9a-f]{64}$/);
    expect(m.bridge.name).toBe(opts.bridgeName);
    const prefix = opts.bip!.replace(/\.1\/24$/, '.');
    expect(m.bridge).toMatchObject({
      subnet: `${prefix}0/24`,
      gateway: `${prefix}1`,
      prefixLen: 24,
    });
    expect((await fsp.readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim()).toBe('1');

    const rules = await iptablesSave();
    const p = opts.chainPrefix!;
    expect(rules).toContain(`-A FORWARD -j ${p}-FORWARD`);
    expect(rules).toContain(`-A POSTROUTING -j ${p}-POSTROUTING`);
    expect(rules).toContain(
      `-A ${p}-POSTROUTING -s ${prefix}0/24 ! -o ${opts.bridgeName} -j MASQUERADE`,
    );

    const nsA = await m.createNetns('ctr-a');
    const nsB = await m.createNetns('ctr-b');
    expect(nsA).toBe(path.join(await fsp.realpath(path.join(opts.execRoot, 'netns')), 'ctr-a'));
    const a = await m.connect('ctr-a', nsA);
    const b = await m.connect('ctr-b', nsB, { mac: '02:42:00:00:be:ef' });
    expect(a).toMatchObject({
      ipAddress: `${prefix}2`,
      prefixLen: 24,
      gateway: `${prefix}1`,
      networkId: m.bridge.id,
    });
    expect(a.macAddress).toBe(
      `02:42:${prefix
        .split('.')
        .slice(0, 3)
        .map((o) => Number(o).toString(16).padStart(2, '0'))
        .join(':')}:02`,
    );
    expect(b).toMatchObject({ ipAddress: `${prefix}3`, macAddress: '02:42:00:00:be:ef' });
    expect(m.endpoint('ctr-a')).toEqual(a);
    await expect(m.connect('ctr-a', nsA)).rejects.toThrow(/already exists/);

    const inside = (await run(['nsenter', `--net=${nsA}`, 'ip', '-j', 'addr', 'show', 'eth0']))
      .stdout;
    expect(inside).toContain(a.macAddress);
    expect(inside).toContain(a.ipAddress);

    await ping(nsA, b.ipAddress);
    await ping(nsB, a.ipAddress);
    await ping(nsA, m.bridge.gateway);
    await ping(nsA, '127.0.0.1'); // loopback is up

    await m.disconnect('ctr-a');
    await m.disconnect('ctr-a'); // idempotent
    await m.settled();
    expect(await links()).not.toContain(a.hostVeth);
    expect(m.endpoint('ctr-a')).toBeUndefined();
    await m.removeNetns('ctr-a');
    await m.removeNetns('ctr-a'); // idempotent
    expect(existsSync(nsA)).toBe(false);

    // The two-process path: namespace and endpoint at once; gets a's freed address back.
    const { netnsPath: nsC, endpoint: c } = await m.createNetnsConnected('ctr-c');
    expect(c).toMatchObject({ ipAddress: a.ipAddress, macAddress: a.macAddress, prefixLen: 24 });
    await ping(nsC, b.ipAddress);
    await ping(nsB, c.ipAddress);
    await ping(nsC, m.bridge.gateway);
    await ping(nsC, '127.0.0.1');
    // Twice for one container is a conflict that leaves the first intact.
    await expect(m.createNetnsConnected('ctr-c')).rejects.toThrow(/already exists/);
    await m.disconnect('ctr-c');
    await expect(m.createNetnsConnected('ctr-c')).rejects.toThrow(/already exists/);
    expect(m.endpoint('ctr-c')).toBeUndefined();
    expect(existsSync(nsC)).toBe(true);

    // ctr-b stays connected and ctr-c's namespace stays: teardown must clean them up too.
    await m.teardown();
    await assertNothingLeft(opts, [a.hostVeth, b.hostVeth, c.hostVeth]);
  }, 30_000);

  it('adopts a spare namespace made ahead of need, and frees spares nobody adopted', async () => {
    const opts = { ...(await options()), spareNetns: true };
    const m = await open(opts);
    const dir = await fsp.realpath(path.join(opts.execRoot, 'netns'));
    await m.reconcile(new Set()); // as at daemon start: makes the first spare
    await m.settled();
    const spares = async () => (await fsp.readdir(dir)).filter((n) => n.startsWith('spare-'));
    const [first] = await spares();
    expect(first).toMatch(/^spare-[0-9a-f]{16}$/);

    const { netnsPath: nsA, endpoint: a } = await m.createNetnsConnected('ctr-a');
    // The next spare waits until the start that took this one waits on runc (spareTime), or
    // a fallback timer fires: only the adopted one's file is there.
    expect(await spares()).toEqual([first]);
    expect(nsA).toBe(path.join(dir, 'ctr-a'));
    expect(await fsp.readlink(nsA)).toBe(first);
    expect(m.endpoint('ctr-a')).toEqual(a);
    const inside = (await run(['nsenter', `--net=${nsA}`, 'ip', '-j', 'addr', 'show', 'eth0']))
      .stdout;
    expect(inside).toContain(a.ipAddress);
    expect(inside).toContain(a.macAddress);
    await ping(nsA, m.bridge.gateway);

    m.spareTime();

    // A MAC asked for cannot come from a spare: built on the spot, next to the new spare.
    await m.settled();
    const { netnsPath: nsB, endpoint: b } = await m.createNetnsConnected('ctr-b', {
      mac: '02:42:00:00:be:ef',
    });
    expect(b.macAddress).toBe('02:42:00:00:be:ef');
    await expect(fsp.readlink(nsB)).rejects.toThrow();
    await ping(nsB, a.ipAddress);

    // Removing an adopted namespace removes what its name points to.
    await m.disconnect('ctr-a');
    await m.removeNetns('ctr-a');
    await m.settled();
    expect(existsSync(path.join(dir, first!))).toBe(false);
    const [second] = await spares();
    expect(second).toBeDefined();

    // After a crash, a spare nobody adopted is freed; a live container's adopted one is kept.
    const { netnsPath: nsC, endpoint: c } = await m.createNetnsConnected('ctr-c');
    m.spareTime();
    await m.settled();
    const target = await fsp.readlink(nsC);
    const m2 = await NetworkManager.open({ ...opts, spareNetns: false });
    managers.splice(0, managers.length, m2);
    await m2.reconcile(new Set(['ctr-b', 'ctr-c']));
    expect((await fsp.readdir(dir)).sort()).toEqual(['ctr-b', 'ctr-c', target].sort());
    expect(m2.endpoint('ctr-c')).toEqual(c);
    await ping(nsC, b.ipAddress);
    await m2.teardown();
    await assertNothingLeft(opts, [a.hostVeth, b.hostVeth, c.hostVeth]);
  }, 30_000);

  it("frees the spare at shutdown and keeps containers' namespaces", async () => {
    const opts = { ...(await options()), spareNetns: true };
    const m = await open(opts);
    const dir = await fsp.realpath(path.join(opts.execRoot, 'netns'));
    await m.reconcile(new Set());
    const { netnsPath } = await m.createNetnsConnected('ctr-a');
    m.spareTime();
    await m.settled();
    expect((await fsp.readdir(dir)).length).toBe(3); // ctr-a -> spare-1, and spare-2
    await m.close();
    const target = await fsp.readlink(netnsPath);
    expect((await fsp.readdir(dir)).sort()).toEqual(['ctr-a', target].sort());
    await ping(netnsPath, m.bridge.gateway);
    // Closed: no new spare is made.
    await m.createNetnsConnected('ctr-b');
    await m.settled();
    expect((await fsp.readdir(dir)).filter((n) => n.startsWith('spare-'))).toEqual([target]);
  }, 30_000);

  it('reopens idempotently (daemon restart), restores allocations and reconciles', async () => {
    const opts = await options();
    const m1 = await open(opts);
    const ns1 = await m1.createNetns('c1');
    const ns2 = await m1.createNetns('c2');
    const e1 = await m1.connect('c1', ns1);
    const e2 = await m1.connect('c2', ns2);
    const before = await iptablesSave();

    // As after kill -9: no shutdown, a new manager over the same state and devices.
    const m2 = await NetworkManager.open(opts);
    managers.splice(0, managers.length, m2);
    expect(m2.bridge).toEqual(m1.bridge);
    expect(m2.endpoint('c1')).toEqual(e1);
    expect(m2.endpoint('c2')).toEqual(e2);
    const after = await iptablesSave();
    const p = opts.chainPrefix!;
    const count = (s: string, rule: string) => s.split('\n').filter((l) => l === rule).length;
    for (const rule of [`-A FORWARD -j ${p}-FORWARD`, `-A POSTROUTING -j ${p}-POSTROUTING`]) {
      expect(count(before, rule)).toBe(1);
      expect(count(after, rule)).toBe(1);
    }
    expect(after.split('\n').filter((l) => l.includes(p))).toEqual(
      before.split('\n').filter((l) => l.includes(p)),
    );

    // The restored allocations are respected: c3 gets the next free address.
    const ns3 = await m2.createNetns('c3');
    const e3 = await m2.connect('c3', ns3);
    expect(new Set([e1.ipAddress, e2.ipAddress, e3.ipAddress]).size).toBe(3);
    await ping(ns3, e1.ipAddress);

    // A veth left on the bridge by a crash mid-connect, and c1 gone while we were down.
    const orphan = `vo${randomBytes(4).toString('hex')}`;
    await run([
      'ip',
      'link',
      'add',
      'name',
      orphan,
      'master',
      opts.bridgeName!,
      'type',
      'veth',
      'peer',
      'name',
      `${orphan}p`,
    ]);
    await m2.reconcile(new Set(['c2', 'c3']));
    const now = await links();
    expect(now).not.toContain(orphan);
    expect(now).not.toContain(`${orphan}p`);
    expect(now).not.toContain(e1.hostVeth);
    expect(now).toContain(e2.hostVeth);
    expect(m2.endpoint('c1')).toBeUndefined();
    expect(existsSync(ns1)).toBe(false);
    expect(existsSync(ns2)).toBe(true);
    await ping(ns2, e3.ipAddress);

    // The freed address is handed out again, with the same MAC as before.
    const ns4 = await m2.createNetns('c4');
    const e4 = await m2.connect('c4', ns4);
    expect(e4.ipAddress).toBe(e1.ipAddress);
    expect(e4.macAddress).toBe(e1.macAddress);

    // And a third open after a graceful disconnect sees exactly what is left.
    await m2.disconnect('c2');
    await m2.settled();
    const m3 = await NetworkManager.open(opts);
    managers.splice(0, managers.length, m3);
    expect(m3.endpoint('c2')).toBeUndefined();
    expect(m3.endpoint('c3')).toEqual(e3);
    await m3.teardown();
    await assertNothingLeft(opts, [e1.hostVeth, e2.hostVeth, e3.hostVeth, e4.hostVeth, orphan]);
  }, 30_000);

  it('gives 50 parallel connects distinct addresses; measures connect+disconnect', async () => {
    const opts = await options();
    const m = await open(opts);
    const ids = Array.from({ length: 50 }, (_, i) => `p${i}`);
    const t0 = performance.now();
    const eps = await Promise.all(ids.map(async (id) => m.connect(id, await m.createNetns(id))));
    const parallelMs = performance.now() - t0;
    expect(new Set(eps.map((e) => e.ipAddress)).size).toBe(50);
    expect(new Set(eps.map((e) => e.macAddress)).size).toBe(50);
    await ping(m.netnsPath('p0'), eps[49]!.ipAddress);

    // Persisted: a fresh open sees all 50.
    const again = await NetworkManager.open(opts);
    for (const [i, id] of ids.entries()) expect(again.endpoint(id)).toEqual(eps[i]);

    const t1 = performance.now();
    await Promise.all(ids.map(async (id) => (await m.disconnect(id), m.removeNetns(id))));
    await m.settled();
    const parallelDownMs = performance.now() - t1;

    const timings = {
      netns: [] as number[],
      connect: [] as number[],
      disconnect: [] as number[],
      settle: [] as number[],
      rmns: [] as number[],
    };
    for (let i = 0; i < 20; i++) {
      const id = `s${i}`;
      let t = performance.now();
      const ns = await m.createNetns(id);
      timings.netns.push(performance.now() - t);
      t = performance.now();
      await m.connect(id, ns);
      timings.connect.push(performance.now() - t);
      t = performance.now();
      await m.disconnect(id);
      timings.disconnect.push(performance.now() - t);
      t = performance.now();
      await m.settled();
      timings.settle.push(performance.now() - t);
      t = performance.now();
      await m.removeNetns(id);
      timings.rmns.push(performance.now() - t);
    }
    const combined: number[] = [];
    for (let i = 0; i < 20; i++) {
      const id = `k${i}`;
      const t = performance.now();
      await m.createNetnsConnected(id);
      combined.push(performance.now() - t);
      await m.disconnect(id);
      await m.removeNetns(id);
      await m.settled();
    }
    const both = timings.connect.map((c, i) => c + timings.disconnect[i]!);
    console.log(
      `network timings (median of 20): createNetns ${median(timings.netns).toFixed(1)} ms, ` +
        `connect ${median(timings.connect).toFixed(1)} ms, disconnect ${median(timings.disconnect).toFixed(1)} ms, ` +
        `connect+disconnect ${median(both).toFixed(1)} ms, background veth deletion ${median(timings.settle).toFixed(1)} ms, ` +
        `removeNetns ${median(timings.rmns).toFixed(1)} ms, createNetnsConnected ${median(combined).toFixed(1)} ms; ` +
        `50 parallel createNetns+connect ${parallelMs.toFixed(0)} ms, disconnect+removeNetns ${parallelDownMs.toFixed(0)} ms`,
    );
    await m.teardown();
    await assertNothingLeft(
      opts,
      eps.map((e) => e.hostVeth),
    );
  }, 60_000);
});
