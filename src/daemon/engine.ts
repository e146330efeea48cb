import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { EventMessage, HostConfig } from '../api-types/index.js';
import type {
  DistributionBackend,
  ExecBackend,
  ImagesBackend,
  NetworksBackend,
  SystemBackend,
  VolumesBackend,
} from '../api/routes/backend.js';
import { API_VERSION, MIN_API_VERSION } from '../api/version.js';
import { DeferredFlush, readBootId, type Logger } from '../common/index.js';
import { ContentStore } from '../content/index.js';
import {
  Containers,
  type ContainerRecord,
  type ImagesPort,
  type SnapshotsPort,
} from '../containers/index.js';
import { LogRotator, parseLogOpts } from '../containers/logs/index.js';
import { EventBus } from '../events/index.js';
import { diskUsage, diskUsageTypes } from './disk-usage.js';
import {
  commitImage,
  familiarString,
  ImageStore,
  parseNormalizedNamed,
  pruneImages,
  tagNameOnly,
} from '../images/index.js';
import type { ImageConfigConfig } from '../oci/index.js';
import { connectContainer, disconnectContainer, NetworkManager } from '../network/index.js';
import { buildSpec, hostBoundingSet, kernelMissingArches } from '../runtime/index.js';
import { OverlaySnapshotter } from '../snapshots/index.js';
import { VolumeService } from '../volumes/index.js';
import type { DaemonConfig } from './config.js';
import { daemonPaths } from './paths.js';
import { RuntimeAdapter } from './runtime-adapter.js';
import { WHARF_VERSION } from './version.js';
import { wireBuilder } from './build-wiring.js';
import type { BuildBackend } from '../api/routes/build.js';
// Kept on its own line: the images import above is a busy merge spot.
import { ImageDistribution } from '../images/index.js';
import { ImageLoader, saveImages } from '../images/index.js';

export interface Engine {
  id: string;
  events: EventBus;
  containers: Containers;
  exec: ExecBackend;
  images: ImagesBackend;
  system: SystemBackend;
  volumes: VolumesBackend;
  networks: NetworksBackend;
  build: BuildBackend;
  close(): Promise<void>;
}

const INIT_CANDIDATES = [
  '/usr/bin/tini-static',
  '/usr/bin/catatonit',
  '/usr/libexec/podman/catatonit',
];

async function findInit(): Promise<string | undefined> {
  for (const p of INIT_CANDIDATES) {
    try {
      await fsp.access(p);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The composition root: the only place that constructs implementations. */
export async function wireEngine(config: DaemonConfig, log: Logger): Promise<Engine> {
  const p = daemonPaths(config);
  const id = createHash('sha256')
    .update(`wharf:${path.resolve(config.dataRoot)}`)
    .digest('hex')
    .slice(0, 32);
  const events = new EventBus({ logger: log.child({ module: 'events' }) });

  // One background flush for both stores (they share the data root's filesystem): a pull's
  // blobs and layers are flushed by the same syncfs, off the request's path.
  const flusher = new DeferredFlush(config.dataRoot, log.child({ module: 'flush' }));
  // For tests only: a file standing in for /proc/sys/kernel/random/boot_id, so a test can
  // fake "the machine rebooted" (the stores then distrust what was not flushed).
  const testBootIdFile = process.env['WHARF_TEST_BOOT_ID_FILE'];
  if (testBootIdFile) log.warn({ file: testBootIdFile }, 'test mode: boot id read from a file');
  const bootId = await readBootId(testBootIdFile || undefined);
  // A store mounted on a filesystem of its own gets its own flusher (syncfs is per filesystem).
  const flusherFor = async (dir: string): Promise<DeferredFlush | undefined> => {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const [a, b] = await Promise.all([fsp.stat(dir), fsp.stat(config.dataRoot)]);
    return a.dev === b.dev ? flusher : undefined;
  };
  const content = await ContentStore.open(p.content, log.child({ module: 'content' }), {
    flusher: await flusherFor(p.content),
    bootId,
  });
  const snapshotter = await OverlaySnapshotter.open(
    p.snapshots,
    log.child({ module: 'snapshots' }),
    { flusher: await flusherFor(p.snapshots), bootId },
  );
  const images = await ImageStore.open({
    root: p.image,
    snapshots: snapshotter,
    content,
    logger: log.child({ module: 'images' }),
  });

  // Archives being loaded are spooled here (under the data root: they can be large).
  const loader = new ImageLoader(
    images,
    path.join(p.image, 'load-tmp'),
    log.child({ module: 'images' }),
  );
  await loader.init();

  const network = await NetworkManager.open({
    execRoot: config.execRoot,
    dataRoot: config.dataRoot,
    bridgeName: config.bridge,
    bip: config.bip,
    ipv6: config.ipv6,
    fixedCidrV6: config.fixedCidrV6,
    chainPrefix: config.chainPrefix,
    addressPools: config.addressPools,
    mtu: config.mtu,
    spareNetns: true,
    logger: log,
  });

  const runtime = new RuntimeAdapter({
    runcBinary: config.runc,
    conmonBinary: config.conmon,
    runcRoot: p.runcRoot,
    bundles: p.bundles,
    exitDir: p.exits,
    socketDir: path.join(config.execRoot, 's'),
    specFifoDir: p.specFifos,
    log: log.child({ module: 'runtime' }),
  });
  await runtime.init();
  const volumes = new VolumeService(
    p.volumes,
    log.child({ module: 'volumes' }),
    (action, name, attrs) => events.publish('volume', action, { ID: name, Attributes: attrs }),
  );
  await volumes.open();
  const boundingSet = await hostBoundingSet();
  const missingArches = await kernelMissingArches();
  const initPath = await findInit();

  // The builder's RUN steps create containers from build states that are not images yet.
  const builds = wireBuilder({
    root: path.join(config.dataRoot, 'builder'),
    cacheDir: path.join(config.dataRoot, 'buildcache'),
    images,
    snapshotter,
    containers: () => containers,
    events,
    log: log.child({ module: 'builder' }),
    // `distribution` is made further down; a build only pulls once the daemon serves.
    pull: async (ref, onProgress, signal, credentials, platform) => {
      const fromImage = familiarString(tagNameOnly(parseNormalizedNamed(ref)));
      const o = {
        fromImage,
        ...(credentials ? { credentials } : {}),
        ...(platform ? { platform } : {}),
      };
      for (const p of await distribution.pull(o, onProgress, signal)) {
        events.publish('image', 'pull', { ID: p.ref, Attributes: { name: p.ref } });
      }
    },
  });
  await builds.reconcile(p.snapshots);
  const imagesPort: ImagesPort = {
    resolve: async (ref) => {
      const building = builds.runImage(ref);
      if (building) return building;
      const rec = await images.resolve(ref);
      return {
        id: rec.id,
        config: images.config(rec.id),
        topChainID: rec.chainID ?? '',
        size: rec.size,
      };
    },
  };
  const snapshotsPort: SnapshotsPort = {
    prepare: (cid, parent) => snapshotter.prepare(cid, (parent || undefined) as never),
    mount: (cid, target) => snapshotter.mount(cid, target),
    mountView: (cid, target) => snapshotter.mountView(cid, target),
    rootfsMount: (cid, parent) => snapshotter.rootfsMount(cid, parent as never),
    unmount: (target) => snapshotter.unmount(target),
    isMounted: (target) => snapshotter.isMounted(target),
    remove: (cid) => snapshotter.remove(cid),
    upperDir: (cid) => snapshotter.snapshotDirs(cid).upper,
    lowerDirs: (chain) => snapshotter.diffDirs((chain || undefined) as never),
    sizeRw: async (cid) => (await snapshotter.usage({ id: cid }).catch(() => ({ size: 0 }))).size,
  };

  const rotators = new Map<string, LogRotator>();
  // A running container's log is checked after every write (see LogRotator.watch), from its
  // create on: `docker run`'s process may be released before the start is recorded (early
  // release), and a burst written before the watch would all land in the first file. A
  // removed container's rotator goes with it.
  const unsubscribeDestroy = events.subscribe(
    {
      filters: new Map([
        ['type', ['container']],
        ['event', ['create', 'start', 'die', 'destroy', 'rename']],
      ]),
    },
    (ev) => {
      const cid = ev.Actor.ID;
      if (ev.Action === 'rename') {
        const from = (ev.Actor.Attributes['oldName'] ?? '').replace(/^\//, '');
        const to = (ev.Actor.Attributes['name'] ?? '').replace(/^\//, '');
        if (from && to)
          void network
            .renameContainer(cid, from, to)
            .catch((err: unknown) => log.warn({ err, container: cid }, 'renaming DNS names'));
        return;
      }
      if (ev.Action === 'start' || ev.Action === 'create') {
        const rec = containers.svc.store.find(cid);
        if (rec?.LogPath) rotatorFor(cid, rec.HostConfig, rec.LogPath).watch();
        return;
      }
      rotators.get(cid)?.unwatch();
      if (ev.Action === 'destroy') rotators.delete(cid);
    },
  );
  const rotatorFor = (cid: string, hc: HostConfig, file: string): LogRotator => {
    let r = rotators.get(cid);
    if (!r) {
      const lc = hc.LogConfig ?? { Type: config.logDriver, Config: config.logOpts };
      const parsed = parseLogOpts(lc.Type, { ...config.logOpts, ...(lc.Config ?? {}) });
      r = new LogRotator({
        file,
        maxSize: parsed.maxSize,
        maxFile: Math.max(1, parsed.maxFile),
        reopen: () => runtime.reopenLogs(cid),
      });
      rotators.set(cid, r);
    }
    return r;
  };

  const containers: Containers = new Containers({
    imageSize: async (imageId) => (await images.resolve(imageId).catch(() => undefined))?.size ?? 0,
    dataDir: p.containers,
    execDir: p.bundles,
    images: imagesPort,
    snapshots: snapshotsPort,
    runtime,
    network,
    events,
    volumes,
    log: log.child({ module: 'containers' }),
    validateLogConfig: (type, opts) => void parseLogOpts(type, { ...opts }),
    buildSpec: (i) =>
      buildSpec({
        id: i.id,
        rootfs: i.rootfs,
        rootMount: i.rootMount,
        config: i.rec.Config,
        hostConfig: i.rec.HostConfig,
        args: i.args,
        env: i.env,
        cwd: i.cwd,
        user: i.user,
        hostname: i.rec.Config.Hostname ?? i.id.slice(0, 12),
        terminal: i.rec.Config.Tty ?? false,
        netns: i.netns,
        etcFiles: i.etcFiles,
        cgroupsPath: `/wharf/${i.id}`,
        initPath,
        hostBoundingSet: boundingSet,
        seccompMissingArches: missingArches,
        hostShmPath: '/dev/shm',
        mounts: i.mounts,
      }),
    logFiles: async (cid: string): Promise<string[]> => {
      const rec: ContainerRecord = containers.svc.store.get(cid);
      if (!rec.LogPath) return [];
      const files: string[] = await rotatorFor(cid, rec.HostConfig, rec.LogPath).files();
      return files.length ? files : [rec.LogPath];
    },
    imageMatches: (imageId, ref) => {
      try {
        return images.resolveSync(ref).id === imageId;
      } catch {
        return false;
      }
    },
  });
  await containers.open();
  // Volume filesystems mounted for containers that are gone (a crash) are unmounted.
  await volumes.reconcileMounts();
  await network.reconcile(
    new Set(
      containers.svc.store
        .all()
        .filter((r) => r.State.Running)
        .map((r) => r.Id),
    ),
  );

  // Rotation runs in the daemon (conmon only appends): check running containers' logs.
  const rotateTimer = setInterval(() => {
    for (const rec of containers.svc.store.all()) {
      if (!rec.State.Running || !rec.LogPath) continue;
      const rotator = rotatorFor(rec.Id, rec.HostConfig, rec.LogPath);
      rotator.watch(); // containers re-adopted at start got no start event
      rotator.check().catch((err) => log.warn({ err, container: rec.Id }, 'log rotation failed'));
    }
  }, 2000);
  rotateTimer.unref();

  const system: SystemBackend = {
    version: () => ({
      Platform: { Name: 'Wharf Engine' },
      Components: [
        {
          Name: 'Engine',
          Version: WHARF_VERSION,
          Details: {
            ApiVersion: API_VERSION,
            MinAPIVersion: MIN_API_VERSION,
            Os: 'linux',
            Arch: 'amd64',
          },
        },
      ],
      Version: WHARF_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: 'wharf',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: 'amd64',
      KernelVersion: os.release(),
      BuildTime: '',
    }),
    info: async () => {
      const all = containers.svc.store.all();
      const running = all.filter((r) => r.State.Running && !r.State.Paused).length;
      const paused = all.filter((r) => r.State.Paused).length;
      const imageList = await images.list({ all: false });
      return {
        ID: id,
        Containers: all.length,
        ContainersRunning: running,
        ContainersPaused: paused,
        ContainersStopped: all.length - running - paused,
        Images: imageList.length,
        Driver: 'overlay2',
        DriverStatus: [['Backing Filesystem', 'extfs']],
        DockerRootDir: config.dataRoot,
        Plugins: {
          Volume: ['local'],
          Network: ['bridge', 'host', 'none'],
          Authorization: null,
          Log: ['json-file', 'local', 'none'],
        },
        MemoryLimit: true,
        SwapLimit: true,
        CpuCfsPeriod: true,
        CpuCfsQuota: true,
        CPUShares: true,
        CPUSet: true,
        PidsLimit: true,
        OomKillDisable: true,
        IPv4Forwarding: true,
        Debug: config.logLevel === 'debug',
        NFd: 0,
        NGoroutines: 0,
        SystemTime: new Date().toISOString(),
        LoggingDriver: config.logDriver,
        CgroupDriver: 'cgroupfs',
        CgroupVersion: '1',
        NEventsListener: 0,
        KernelVersion: os.release(),
        OperatingSystem: await osName(),
        OSVersion: '',
        OSType: 'linux',
        Architecture: os.arch() === 'x64' ? 'x86_64' : os.arch(),
        IndexServerAddress: 'https://index.docker.io/v1/',
        RegistryConfig: {
          IndexConfigs: {},
          InsecureRegistryCIDRs: [
            '127.0.0.0/8',
            ...config.insecureRegistries.filter((r) => r.includes('/')),
          ],
          Mirrors: config.registryMirrors,
        },
        NCPU: os.cpus().length,
        MemTotal: os.totalmem(),
        Name: os.hostname(),
        Labels: [],
        ExperimentalBuild: false,
        ServerVersion: WHARF_VERSION,
        Runtimes: { runc: { path: config.runc } },
        DefaultRuntime: 'runc',
        Swarm: {
          NodeID: '',
          NodeAddr: '',
          LocalNodeState: 'inactive',
          ControlAvailable: false,
          Error: '',
          RemoteManagers: null,
        },
        LiveRestoreEnabled: true,
        Isolation: '',
        InitBinary: initPath ?? '',
        SecurityOptions: ['name=seccomp,profile=builtin'],
        Warnings: null,
      };
    },
    diskUsage: async (types) => ({
      ...(await diskUsage(
        { images, containers, volumes, buildCache: () => builds.cacheContents() },
        diskUsageTypes(types),
      )),
    }),
    subscribe: (o, onEvent: (ev: EventMessage) => void, onEnd?: () => void) =>
      events.subscribe(o, onEvent, onEnd),
  };

  const distribution = new ImageDistribution(images, {
    insecureRegistries: config.insecureRegistries,
    mirrors: config.registryMirrors,
    maxConcurrentDownloads: config.maxConcurrentDownloads,
    maxConcurrentUploads: config.maxConcurrentUploads,
    userAgent: `wharf/${WHARF_VERSION}`,
    logger: log,
  });

  const distributionBackend: DistributionBackend = {
    pull: async (o, onProgress, signal) => {
      for (const p of await distribution.pull(o, onProgress, signal)) {
        events.publish('image', 'pull', { ID: p.ref, Attributes: { name: p.ref } });
      }
    },
    push: async (name, o, onProgress, signal) => {
      for (const p of await distribution.push(name, o, onProgress, signal)) {
        events.publish('image', 'push', { ID: p.ref, Attributes: { name: p.ref } });
      }
    },
    login: (o) => distribution.login(o.serverAddress, o.credentials),
  };

  const imagesBackend: Omit<ImagesBackend, keyof DistributionBackend> = {
    list: (o) => images.list({ all: o.all, filters: Object.fromEntries(o.filters) }),
    inspect: (ref) => images.inspect(ref),
    history: (ref) => images.history(ref),
    tag: async (source, repo, tag) => {
      await images.tag(source, repo, tag);
      const rec = await images.resolve(source);
      events.publish('image', 'tag', {
        ID: rec.id,
        Attributes: { name: tag ? `${repo}:${tag}` : repo },
      });
    },
    remove: async (ref, o) => {
      // A removed container may still be releasing its rootfs mount on the image's layers.
      await containers.svc.settled();
      const out = await images.remove(ref, {
        ...o,
        usedBy: (imageId: string) => {
          const c = containers.svc.store.all().find((r) => r.Image === imageId);
          return c ? { id: c.Id, running: c.State.Running } : undefined;
        },
      });
      for (const item of out) {
        for (const [k, v] of Object.entries(item)) {
          events.publish('image', k === 'Untagged' ? 'untag' : 'delete', {
            ID: v as string,
            Attributes: { name: v as string },
          });
        }
      }
      return out as Array<Record<string, string>>;
    },
    commit: async (o) => {
      const src = await containers.commitSource(o.container, { pause: o.pause });
      const { rec } = src;
      try {
        const ref = o.repo ? (o.tag ? `${o.repo}:${o.tag}` : o.repo) : undefined;
        // A config in the body overrides the container's, field by field (dockerd's merge).
        const base = { ...rec.Config } as Record<string, unknown>;
        for (const [k, v] of Object.entries(o.config ?? {})) {
          if (v !== null && v !== undefined && v !== '') base[k] = v;
        }
        const { id } = await commitImage(images, {
          parent: rec.Image,
          layer: src.layer,
          config: base as ImageConfigConfig,
          changes: o.changes,
          containerId: rec.Id,
          ref,
          author: o.author,
          comment: o.comment,
          createdBy: (rec.Config.Cmd ?? []).join(' '),
        });
        containers.svc.emit(rec, 'commit', {
          comment: o.comment ?? '',
          imageID: id,
          imageRef: ref ?? '',
        });
        return { Id: id };
      } finally {
        src.layer.destroy();
        await src.done();
      }
    },
    prune: async (filters) => {
      // As remove: a removed container may still be releasing a mount on the layers.
      await containers.svc.settled();
      const inUse = new Set(containers.svc.store.all().map((r) => r.Image));
      const out = await pruneImages(images, Object.fromEntries(filters), inUse);
      for (const item of out.ImagesDeleted) {
        for (const [k, v] of Object.entries(item)) {
          events.publish('image', k === 'Untagged' ? 'untag' : 'delete', {
            ID: v as string,
            Attributes: { name: v as string },
          });
        }
      }
      events.publish('image', 'prune', {
        ID: '',
        Attributes: { reclaimed: String(out.SpaceReclaimed) },
      });
      return out as { ImagesDeleted: Array<Record<string, string>>; SpaceReclaimed: number };
    },
    save: async (names) => {
      const { tar, ids } = await saveImages(images, names);
      // As dockerd: one event per image, named by its ID.
      for (const id of ids) events.publish('image', 'save', { ID: id, Attributes: { name: id } });
      return tar;
    },
    load: async (body, o, onEvent) => {
      for (const img of await loader.load(body, onEvent, o)) {
        events.publish('image', 'load', { ID: img.id, Attributes: { name: img.id } });
      }
    },
    import: async (body, o) => {
      const res = await images.import(body, o);
      events.publish('image', 'import', { ID: res.id, Attributes: { name: o.ref ?? res.id } });
      return res;
    },
  };

  // Running containers' names (a network's Containers lists only those with endpoints).
  const runningName = (cid: string): string | undefined => {
    const rec = containers.svc.store.find(cid);
    return rec?.State.Running ? rec.Name.slice(1) : undefined;
  };
  const networks: NetworksBackend = {
    list: (filters) => network.listNetworks(filters, runningName),
    inspect: (ref) => network.inspectNetwork(ref, runningName),
    create: async (body) => {
      const res = await network.createNetwork(body);
      events.publish('network', 'create', {
        ID: res.Id,
        Attributes: { name: body.Name, type: body.Driver || 'bridge' },
      });
      return res;
    },
    remove: async (ref) => {
      const net = network.resolveNetwork(ref);
      await network.removeNetwork(ref);
      events.publish('network', 'destroy', {
        ID: net.id,
        Attributes: { name: net.name, type: 'bridge' },
      });
    },
    prune: async (filters) => {
      const out = await network.pruneNetworks(filters);
      events.publish('network', 'prune', { ID: '', Attributes: {} });
      return out;
    },
    connect: async (ref, container, config) => {
      let netId = '';
      let cid = '';
      await containers.svc.changeNetworks(container, async (rec) => {
        cid = rec.Id;
        netId = await connectContainer(network, rec, ref, config);
      });
      events.publish('network', 'connect', {
        ID: netId,
        Attributes: { container: cid, name: network.resolveNetwork(netId).name, type: 'bridge' },
      });
    },
    disconnect: async (ref, container) => {
      let netId = '';
      let cid = '';
      await containers.svc.changeNetworks(container, async (rec) => {
        cid = rec.Id;
        netId = await disconnectContainer(network, rec, ref);
      });
      events.publish('network', 'disconnect', {
        ID: netId,
        Attributes: { container: cid, name: network.resolveNetwork(netId).name, type: 'bridge' },
      });
    },
  };

  return {
    id,
    events,
    networks,
    containers,
    exec: containers.exec,
    images: { ...imagesBackend, ...distributionBackend },
    build: builds.backend,
    system,
    volumes: {
      list: (filters) => volumes.list(filters),
      create: (b) =>
        volumes.create({
          name: b.Name,
          driver: b.Driver,
          driverOpts: b.DriverOpts,
          labels: b.Labels,
        }),
      inspect: (name) => volumes.inspect(name),
      remove: (name, o) => volumes.remove(name, o),
      prune: (filters, o) => volumes.prune(filters, o),
    },
    close: async () => {
      clearInterval(rotateTimer);
      unsubscribeDestroy();
      for (const r of rotators.values()) r.unwatch();
      await containers.close();
      runtime.close();
      await network.close();
      // Blobs and layers written lately reach the disk before the daemon exits.
      await Promise.all([flusher.drain(), content.close(), snapshotter.close()]);
    },
  };
}

async function osName(): Promise<string> {
  try {
    const text = await fsp.readFile('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}
