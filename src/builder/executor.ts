/**
 * The build executor: Dockerfile stages run in order, step by step, as Docker's classic
 * builder (the protocol the docker CLI speaks without BuildKit). Vocabulary:
 *
 * - a *stage* starts at FROM (an image, `scratch`, or an earlier stage) and ends at the
 *   next FROM; only the stages the target needs are run;
 * - a *step* is one instruction; it yields a new StageState: a config-only change (a
 *   history entry marked empty_layer) or a new layer on top (RUN, COPY/ADD, WORKDIR that
 *   creates its directory);
 * - the image is written only when the target stage has finished: a failed build leaves no
 *   image and no tag;
 * - every executed step is recorded in the step cache (cache.ts) under a key chained from
 *   its parent's: the expanded instruction, the build-arg values it used (a RUN: all declared
 *   ones, its environment) and, for COPY/ADD, a digest of its sources. A hit takes the
 *   recorded state as is (so a rebuild with nothing changed gives the same image ID).
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { invalidArgument, type Logger } from '../common/index.js';
import type { Digest } from '../oci/index.js';
import { BuildRun, short } from './build-run.js';
import type { BuildEvent, BuildOptions } from './build-types.js';
import { BuildCache, type RecordMemo } from './cache.js';
import { BuildContext } from './context.js';
import { readDockerfile } from './dockerfile/index.js';
import { BuildSecrets } from './secrets.js';
import { squashedConfig, squashLayer } from './squash.js';
import type { BuilderPorts, IngestedLayer } from './ports.js';

export type { BuildEvent, BuildOptions, StageState } from './build-types.js';

export class Builder {
  readonly cache: BuildCache;

  constructor(
    private readonly ports: BuilderPorts,
    private readonly opts: { root: string; cacheDir: string; log: Logger; records?: RecordMemo },
  ) {
    this.cache = new BuildCache(opts.cacheDir, ports.images, opts.log, opts.records);
  }

  /**
   * Run a build; events go to `emit`. Errors thrown before the first event (an unreadable
   * context, a Dockerfile that does not parse) are the request's; later ones end the stream.
   */
  async build(
    o: BuildOptions,
    emit: (e: BuildEvent) => void,
    signal: AbortSignal,
  ): Promise<Digest> {
    const id = randomBytes(8).toString('hex');
    const workDir = path.join(this.opts.root, id);
    const made: IngestedLayer[] = [];
    const recorded = new Set<Digest>();
    let ctx: BuildContext | undefined;
    const secrets = new BuildSecrets(o.secrets ?? new Map(), path.join(workDir, 'secrets'));
    try {
      ctx = await BuildContext.extract(o.context, path.join(workDir, 'context'));
      const text = await ctx.readDockerfile(o.dockerfile);
      if (text.trim() === '')
        throw invalidArgument(`the Dockerfile (${o.dockerfile}) cannot be empty`);
      const df = readDockerfile(text);
      await ctx.applyDockerignore();
      const env = {
        ports: this.ports,
        workDir,
        emit: (text: string) => emit({ stream: text }),
        signal,
        log: this.opts.log,
      };
      const run = new BuildRun(
        this.ports,
        df,
        o,
        env,
        ctx,
        made,
        this.cache,
        recorded,
        path.join(this.opts.cacheDir, 'mounts'),
        (m) => emit({ progress: m }),
        secrets,
      );
      const final = await run.execute();
      let imageId: Digest;
      if (o.squash) {
        // As Docker: the image as built stays (untagged), the squashed one gets the tags.
        const built = await this.ports.images.createImage(final.image, final.layers, []);
        const base = run.bases.get(run.target)!;
        const layer = await squashLayer(env, base.chainID, final.chainID);
        made.push(layer);
        const squashed = squashedConfig(final.image, built, base, layer.diffID);
        imageId = await this.ports.images.createImage(
          squashed,
          [...base.layers, layer.descriptor],
          o.tags,
        );
      } else imageId = await this.ports.images.createImage(final.image, final.layers, o.tags);
      emit({ aux: { ID: imageId } });
      emit({ stream: `Successfully built ${short(imageId)}\n` });
      for (const t of o.tags) emit({ stream: `Successfully tagged ${t}\n` });
      return imageId;
    } catch (err) {
      // The client gets the message; the daemon's log keeps the details (and the cause).
      this.opts.log.info({ err, build: id }, 'build failed');
      throw err;
    } finally {
      await secrets.close();
      await ctx?.close();
      await fsp.rm(workDir, { recursive: true, force: true }).catch(() => undefined);
      // Layers no image uses (other stages', a failed build's) go; later the cache keeps them.
      for (const layer of made.reverse()) {
        if (recorded.has(layer.chainID)) continue;
        await this.ports.images
          .dropUnused(layer)
          .catch((err: unknown) =>
            this.opts.log.warn({ err, layer: layer.chainID }, 'could not drop a build layer'),
          );
      }
    }
  }
}
