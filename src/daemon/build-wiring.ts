/**
 * The builder's ports wired to the image store, the snapshotter and the container service,
 * and the build backend the API's /build route calls. Kept apart from engine.ts, which only
 * constructs it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { toJSONMessage, type ProgressEvent } from '../api-types/index.js';
import type { RegistryCredentials } from '../api/routes/backend.js';
import type { BuildBackend } from '../api/routes/build.js';
import { overlayDiff } from '../archive/index.js';
import { Builder, RecordMemo, type BuilderPorts, type RunImage } from '../builder/index.js';
import { errorKind, invalidArgument, notFound, type Logger } from '../common/index.js';
import type { Containers, ResolvedImage } from '../containers/index.js';
import type { EventBus } from '../events/index.js';
import {
  familiarString,
  parseNormalizedNamed,
  repoTagReference,
  type ImageStore,
  type Lease,
} from '../images/index.js';
import { chainIDs, MediaType, type Descriptor, type Digest } from '../oci/index.js';
import type { OverlaySnapshotter } from '../snapshots/index.js';
import type { BuildCacheContents } from './disk-usage.js';

/** Demultiplex docker's 8-byte-header frames (a non-tty container's log stream). */
async function* demux(frames: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let buf: Buffer = Buffer.alloc(0);
  for await (const chunk of frames) {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      yield buf.subarray(8, 8 + size);
      buf = buf.subarray(8 + size);
    }
  }
}

type ProgressSink = (e: ProgressEvent) => void;

/**
 * The credentials X-Registry-Config holds for `ref`'s registry: keys are what the docker
 * CLI's config.json has (`host:port`, `https://host/…`, Docker Hub's index URL).
 */
function credentialsFor(
  ref: string,
  auths: Record<string, unknown> | undefined,
): RegistryCredentials | undefined {
  if (!auths) return undefined;
  const domain = parseNormalizedNamed(ref).domain;
  for (const [server, creds] of Object.entries(auths)) {
    let host = server.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
    if (host === 'index.docker.io' || host === 'registry-1.docker.io') host = 'docker.io';
    if (host === domain) return creds as RegistryCredentials;
  }
  return undefined;
}

export interface BuildWiring {
  backend: BuildBackend;
  /** After a crash: unmount and delete what builds in flight left (scratch dirs, snapshots). */
  reconcile(snapshotsRoot: string): Promise<void>;
  /** For the container service's image lookups: a RUN step's state, by its ID. */
  runImage(ref: string): ResolvedImage | undefined;
  /** What the step cache holds, for `system df`. */
  cacheContents(): Promise<BuildCacheContents>;
}

export function wireBuilder(deps: {
  root: string;
  /** Where step cache records live (kept across restarts). */
  cacheDir: string;
  images: ImageStore;
  snapshotter: OverlaySnapshotter;
  containers: () => Containers;
  events: EventBus;
  log: Logger;
  /** Pull an image (base images a build does not have). */
  pull?: (
    ref: string,
    onProgress: ProgressSink,
    signal: AbortSignal,
    credentials: RegistryCredentials | undefined,
    platform?: string,
  ) => Promise<void>;
}): BuildWiring {
  const { images, snapshotter } = deps;
  const running = new Map<string, RunImage>();
  // Each build holds one lease on every layer and blob it finds or makes (its base, cached
  // steps, new layers) until it ends, so an rmi or a prune beside it cannot take them away:
  // a build gets ports bound to its lease (a Builder is cheap to make).
  const portsFor = (held: Lease | undefined): BuilderPorts => {
    const lease = (): Lease => {
      if (!held) throw new Error('builder images port used outside a build');
      return held;
    };
    return {
      images: {
        resolve: async (ref) => {
          const rec = await images.resolve(ref);
          const layers = rec.layers ?? [];
          if (layers.length !== rec.config.rootfs.diff_ids.length)
            throw invalidArgument(`image ${ref} has no layer blobs to build on`);
          lease().hold(...chainIDs(rec.config.rootfs.diff_ids), ...layers.map((l) => l.digest));
          return { id: rec.id, config: rec.config, layers };
        },
        pull: async (ref, onMessage, signal, registryAuth, platform) => {
          if (!deps.pull) throw notFound(`No such image: ${ref}`);
          await deps.pull(
            ref,
            (e) => onMessage(toJSONMessage(e) as Record<string, unknown>),
            signal,
            credentialsFor(ref, registryAuth),
            platform,
          );
        },
        ingestLayer: async (tar, parent) => {
          const { blob, layer } = await images.ingestLayer(tar, parent, lease());
          const descriptor: Descriptor = {
            mediaType: layer.compression === 'gzip' ? MediaType.OciLayerGzip : MediaType.OciLayer,
            digest: blob.digest,
            size: blob.size,
          };
          return { descriptor, diffID: layer.diffID, chainID: layer.chainID };
        },
        createImage: async (config, layers, refs) => {
          const { id } = await images.storeImage({
            config,
            layers,
            refs: refs.map((r) => repoTagReference(r)),
            lease: lease(),
          });
          for (const r of refs)
            deps.events.publish('image', 'tag', { ID: id, Attributes: { name: r } });
          return id;
        },
        dropUnused: async (layer) => {
          let size = 0;
          try {
            size = (await snapshotter.layer(layer.chainID)).size;
            if (!(await images.dropUnusedLayer(layer.chainID)).includes(layer.chainID)) size = 0;
          } catch (err) {
            if (errorKind(err) !== 'not-found') throw err; // gone with a child already
          }
          await images.dropUnusedBlob(layer.descriptor.digest);
          return size;
        },
        hasLayers: async (layers, chainID) => {
          const checks = layers.map((l) => images.hasBlob(lease(), l.digest));
          if (chainID !== undefined) checks.push(images.hasLayer(lease(), chainID));
          return (await Promise.all(checks)).every(Boolean);
        },
      },
      snapshots: {
        prepare: (key, parent) => snapshotter.prepare(key, parent),
        mount: (key, target) => snapshotter.mount(key, target),
        unmount: (target) => snapshotter.unmount(target),
        remove: (key) => snapshotter.remove(key),
        diff: (key) => overlayDiff(snapshotter.snapshotDirs(key).upper),
      },
      containers: {
        register: (image) => {
          running.set(image.id, image);
          return () => running.delete(image.id);
        },
        create: async (req) => (await deps.containers().create(req)).Id,
        start: (id) => deps.containers().start(id),
        output: (id, signal) =>
          demux(
            deps
              .containers()
              .logs(id, { follow: true, stdout: true, stderr: true, timestamps: false }, signal),
          ),
        wait: (id) => deps.containers().wait(id, 'not-running'),
        diff: async (id, exclude) => {
          const src = await deps.containers().commitSource(id, { pause: false, exclude });
          return { layer: src.layer, done: src.done };
        },
        remove: (id) => deps.containers().remove(id, { force: true, volumes: true }),
      },
    };
  };
  // One memo of step records for all builds (and the prunes that clear it).
  const builderOpts = {
    root: deps.root,
    cacheDir: deps.cacheDir,
    log: deps.log,
    records: new RecordMemo(),
  };
  const builder = new Builder(portsFor(undefined), builderOpts);
  return {
    cacheContents: () => builder.cache.list(),
    reconcile: async (snapshotsRoot) => {
      const root = path.resolve(deps.root);
      const mountinfo = await fsp.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
      // Deepest first; a mount point's spaces and the like are octal-escaped in mountinfo.
      const points = mountinfo
        .split('\n')
        .map((l) =>
          l
            .split(' ')[4]
            ?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))),
        )
        .filter((m): m is string => m !== undefined && m.startsWith(`${root}/`))
        .sort((a, b) => b.length - a.length);
      for (const m of points)
        await snapshotter
          .unmount(m)
          .catch((err: unknown) => deps.log.warn({ err, mount: m }, 'unmounting a build leftover'));
      await fsp.rm(root, { recursive: true, force: true });
      const active = await fsp.readdir(path.join(snapshotsRoot, 'containers')).catch(() => []);
      for (const key of active.filter((k) => k.startsWith('build-'))) {
        await snapshotter
          .remove(key)
          .catch((err: unknown) => deps.log.warn({ err, key }, 'removing a build snapshot'));
      }
    },
    runImage: (ref) => {
      const img = running.get(ref);
      if (!img) return undefined;
      return { id: img.id, config: img.config ?? {}, topChainID: img.chainID ?? '', size: 0 };
    },
    backend: {
      build: async (o, emit, signal) => {
        // Tags are checked (and normalised: `foo` → `foo:latest`) before any work.
        const tags = o.tags.map((t) => familiarString(repoTagReference(t)));
        const lease = images.lease();
        try {
          return await new Builder(portsFor(lease), builderOpts).build(
            { ...o, tags },
            emit,
            signal,
          );
        } finally {
          lease.release();
        }
      },
      prune: async (o) => {
        // For each layer: its size, whether an image uses it (walking each image's chain), a
        // build holds it; as system df reports the records.
        const layers = new Map((await snapshotter.listLayers()).map((l) => [l.chainID, l]));
        const used = new Set<Digest>();
        for (const img of images.images.values())
          for (let c = img.chainID; c !== undefined; c = layers.get(c)?.parent) used.add(c);
        const { deleted, reclaimed } = await builder.cache.prune(o, (chainID) => {
          const l = layers.get(chainID);
          if (!l) return undefined;
          return { size: l.size, shared: used.has(chainID), inUse: images.leased(chainID) };
        });
        return { CachesDeleted: deleted, SpaceReclaimed: reclaimed };
      },
    },
  };
}

export type { Digest };
