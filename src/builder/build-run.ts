/**
 * One build's run over a parsed Dockerfile: the needed stages in order, each step expanded,
 * looked up in the step cache, else executed (steps.ts, copy-step.ts) and recorded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { errorKind, invalidArgument, notFound } from '../common/index.js';
import { chainID as chainIDOf, type Digest, type ImageConfig } from '../oci/index.js';
import { metaArgValues, StageArgs, unconsumedArgs } from './build-args.js';
import type { BuildOptions, StageState } from './build-types.js';
import { BuildCache, stepKey } from './cache.js';
import type { BuildContext } from './context.js';
import { planRunMounts, removeFiles } from './run-mounts.js';
import { OrderedOutput } from './ordered-output.js';
import type { BuildSecrets } from './secrets.js';
import { applyConfigStep, DEFAULT_PATH, resolveWorkdir, shellOf } from './config-steps.js';
import {
  chompHeredoc,
  expandInstruction,
  processWord,
  readDockerfile,
  type Dockerfile,
  type Instruction,
  type Stage,
} from './dockerfile/index.js';
import {
  formatBuildPlatform,
  hostPlatform,
  parseBuildPlatform,
  platformArgs,
  platformMatches,
  type BuildPlatform,
} from './platform.js';
import type { BuilderPorts, IngestedLayer } from './ports.js';
import { copyStep, planCopy, type CopyPlan } from './copy-step.js';
import { BuildCancelledError, runStep, workdirStep, type StepEnv } from './steps.js';

export function stateId(st: StageState): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(st.image)).digest('hex')}`;
}

/** An image config's platform (os/architecture/variant; Docker's defaults when absent). */
function imagePlatform(c: ImageConfig): BuildPlatform {
  return {
    os: c.os || 'linux',
    architecture: c.architecture || 'amd64',
    ...(c.variant ? { variant: c.variant } : {}),
  };
}

export const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

function emptyImage(): ImageConfig {
  return {
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
}

/** The earlier stages stage `i` builds FROM or COPYs from. */
export function stageDeps(
  df: Dockerfile,
  i: number,
  stageOf: (ref: string) => number | undefined,
): number[] {
  const deps = new Set<number>();
  const s = df.stages[i]!;
  const base = stageOf(s.from.image);
  if (base !== undefined && base < i) deps.add(base);
  for (const instr of s.instructions) {
    if ((instr.kind === 'COPY' || instr.kind === 'ADD') && instr.from !== undefined) {
      const dep = stageOf(instr.from);
      if (dep !== undefined && dep < i) deps.add(dep);
    }
  }
  return [...deps];
}

/** The stages the target needs: itself and, transitively, those it builds FROM or COPYs from. */
export function neededStages(
  df: Dockerfile,
  target: number,
  stageOf: (ref: string) => number | undefined,
): Set<number> {
  const need = new Set<number>();
  const visit = (i: number): void => {
    if (need.has(i)) return;
    need.add(i);
    for (const dep of stageDeps(df, i, stageOf)) visit(dep);
  };
  visit(target);
  return need;
}

/**
 * What a running stage writes through and is cancelled by, and its step counter (see
 * runStages()). Passed down explicitly: an AsyncLocalStorage would turn on promise hooks
 * for the whole daemon.
 */
interface StageContext {
  env: StepEnv;
  stepNo: number;
}

/** What a stage started from: the parent `--squash` keeps (Docker's FromImage). */
export interface StageBase {
  /** The base image's ID ('' for scratch; for an earlier stage, its state's ID). */
  id: string;
  layers: StageState['layers'];
  chainID: Digest | undefined;
  diffIDs: Digest[];
  historyLength: number;
}

export class BuildRun {
  private readonly stageNames = new Map<string, number>();
  /** The base of each stage run, by index. */
  readonly bases = new Map<number, StageBase>();
  private readonly done = new Map<number, StageState>();
  private readonly consumed = new Set<string>();
  private readonly meta: Map<string, string>;
  /** The target platform: stages without FROM --platform build for it. */
  private readonly platform: BuildPlatform;
  private totalSteps = 0;

  constructor(
    private readonly ports: BuilderPorts,
    private readonly df: Dockerfile,
    private readonly o: BuildOptions,
    private readonly buildEnv: StepEnv,
    private readonly context: BuildContext,
    private readonly made: IngestedLayer[],
    private readonly cache: BuildCache,
    private readonly recorded: Set<Digest>,
    private readonly cacheMountsDir: string,
    private readonly pullMessage: (m: Record<string, unknown>) => void,
    private readonly secrets: BuildSecrets,
  ) {
    this.platform = o.platform ? parseBuildPlatform(o.platform) : hostPlatform();
    this.meta = metaArgValues(
      df,
      o.buildArgs,
      this.consumed,
      platformArgs(this.platform, hostPlatform()),
    );
    for (const s of df.stages) if (s.from.name) this.stageNames.set(s.from.name, s.index);
  }

  private stageOf = (ref: string): number | undefined => {
    const name = processWord(ref, this.meta, this.df.directives.escape).toLowerCase();
    if (this.stageNames.has(name)) return this.stageNames.get(name);
    if (/^\d+$/.test(name) && Number(name) < this.df.stages.length) return Number(name);
    return undefined;
  };

  /** The index of the stage the build ends with. */
  target = -1;

  async execute(): Promise<StageState> {
    let target = this.df.stages.length - 1;
    if (this.o.target) {
      const t = this.stageNames.get(this.o.target.toLowerCase());
      if (t === undefined)
        throw invalidArgument(`failed to reach build target ${this.o.target} in Dockerfile`);
      target = t;
    }
    this.target = target;
    const need = neededStages(this.df, target, this.stageOf);
    const labels = Object.entries(this.o.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    // Step numbers as a sequential build gives them: each stage's first is known up front.
    const order = [...need].sort((a, b) => a - b);
    const firstStep = new Map<number, number>();
    for (const i of order) {
      firstStep.set(i, this.totalSteps);
      this.totalSteps += 1 + this.df.stages[i]!.instructions.length;
    }
    if (labels.length > 0) this.totalSteps++;
    const final = await this.runStages(order, firstStep, labels);
    const unused = unconsumedArgs(this.o.buildArgs, this.consumed);
    if (unused.length > 0)
      this.buildEnv.emit(
        `[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`,
      );
    return final;
  }

  /**
   * Run the needed stages, each as soon as the stages it depends on are done, so independent
   * stages overlap. The stream stays a sequential build's (ordered-output.ts). The first
   * failure aborts the others (their RUN containers are removed) and, once all have
   * settled, is the build's error, after the text of the stages up to the failed one.
   */
  private async runStages(
    order: number[],
    firstStep: Map<number, number>,
    labels: Array<[string, string]>,
  ): Promise<StageState> {
    const out = new OrderedOutput(order, (t) => this.buildEnv.emit(t));
    const abort = new AbortController();
    const onAbort = (): void => abort.abort();
    const outer = this.buildEnv.signal;
    if (outer.aborted) abort.abort();
    else outer.addEventListener('abort', onAbort, { once: true });
    let failure: { err: unknown; stage: number } | undefined;
    const running = new Map<number, Promise<StageState>>();
    const runOne = async (i: number): Promise<StageState> => {
      for (const dep of stageDeps(this.df, i, this.stageOf)) await running.get(dep);
      const ctx: StageContext = {
        env: { ...this.buildEnv, signal: abort.signal, emit: out.writer(i) },
        stepNo: firstStep.get(i)!,
      };
      const st = await this.runStage(this.df.stages[i]!, i === this.target ? labels : [], ctx);
      this.done.set(i, st);
      out.finish(i);
      return st;
    };
    for (const i of order) {
      const p = runOne(i);
      running.set(i, p);
      p.catch((err: unknown) => {
        failure ??= { err, stage: i };
        abort.abort();
      });
    }
    try {
      await Promise.allSettled(running.values());
    } finally {
      outer.removeEventListener('abort', onAbort);
    }
    if (failure) {
      out.flushUpTo(failure.stage);
      throw failure.err;
    }
    return this.done.get(this.target)!;
  }

  private async from(stage: Stage, ctx: StageContext): Promise<StageState> {
    const ref = processWord(stage.from.image, this.meta, this.df.directives.escape);
    const prior = this.stageOf(stage.from.image);
    if (prior !== undefined && prior < stage.index) {
      const s = this.done.get(prior)!;
      return { ...structuredClone(s), cmdSet: false };
    }
    // (Stage and scratch keys are distinct from image IDs by their prefix.)
    if (ref === '')
      throw invalidArgument('base name (' + stage.from.image + ') should not be blank');
    const platform = stage.from.platform
      ? parseBuildPlatform(processWord(stage.from.platform, this.meta, this.df.directives.escape))
      : this.platform;
    if (ref.toLowerCase() === 'scratch') {
      const image = emptyImage();
      image.os = platform.os;
      image.architecture = platform.architecture;
      if (platform.variant) image.variant = platform.variant;
      const name = formatBuildPlatform(platform);
      // The platform is in the scratch image's config, so in the key (the host's keeps the
      // plain key earlier builds recorded).
      const key = name === formatBuildPlatform(hostPlatform()) ? 'scratch' : `scratch:${name}`;
      return { image, cmdSet: false, layers: [], chainID: undefined, key };
    }
    const base = await this.baseImage(ref, platform, ctx.env.signal);
    const image = structuredClone(base.config);
    image.history ??= [];
    return {
      image,
      cmdSet: false,
      layers: [...base.layers],
      chainID: chainIDOf(image.rootfs.diff_ids),
      key: `image:${base.id}`,
    };
  }

  /**
   * A base image of `platform`, pulled when missing or of another platform (or always with
   * `pull`), as Docker's classic builder. When the pull fails for a local image of another
   * platform, the error says so in Docker's words.
   */
  private async baseImage(ref: string, platform: BuildPlatform, signal: AbortSignal) {
    let mismatch: Error | undefined;
    if (!this.o.pull) {
      try {
        const img = await this.ports.images.resolve(ref);
        const have = imagePlatform(img.config);
        if (platformMatches(platform, have)) return img;
        mismatch = notFound(
          `image with reference ${ref} was found but does not match the specified platform: wanted ${formatBuildPlatform(platform)}, actual: ${formatBuildPlatform(have)}`,
        );
      } catch (err) {
        if (errorKind(err) !== 'not-found') throw err;
      }
    }
    try {
      await this.ports.images.pull(
        ref,
        this.pullMessage,
        signal,
        this.o.registryAuth,
        formatBuildPlatform(platform),
      );
    } catch (err) {
      if (mismatch) throw Object.assign(mismatch, { cause: err });
      throw err;
    }
    const img = await this.ports.images.resolve(ref);
    const have = imagePlatform(img.config);
    if (!platformMatches(platform, have))
      throw notFound(
        `image with reference ${ref} was found but does not match the specified platform: wanted ${formatBuildPlatform(platform)}, actual: ${formatBuildPlatform(have)}`,
      );
    return img;
  }

  private step(original: string, ctx: StageContext): void {
    if (ctx.env.signal.aborted) throw new BuildCancelledError();
    ctx.stepNo++;
    ctx.env.emit(`Step ${ctx.stepNo}/${this.totalSteps} : ${original}\n`);
  }

  private async runStage(
    stage: Stage,
    labels: Array<[string, string]>,
    ctx: StageContext,
  ): Promise<StageState> {
    this.step(stage.from.original, ctx);
    let st = await this.from(stage, ctx);
    const prior = this.stageOf(stage.from.image);
    this.bases.set(stage.index, {
      id:
        st.key === 'scratch'
          ? ''
          : prior !== undefined && prior < stage.index
            ? stateId(st)
            : st.key.replace(/^image:/, ''),
      layers: [...st.layers],
      chainID: st.chainID,
      diffIDs: [...st.image.rootfs.diff_ids],
      historyLength: st.image.history?.length ?? 0,
    });
    const c = (st.image.config ??= {});
    // Docker gives every built image a PATH, even one on an imported base or scratch.
    if (!(c.Env ?? []).some((e) => e.startsWith('PATH='))) c.Env = [...(c.Env ?? []), DEFAULT_PATH];
    const args = new StageArgs(this.o.buildArgs, this.meta, this.consumed);
    const triggers = c.OnBuild ?? [];
    c.OnBuild = null;
    ctx.env.emit(` ---> ${short(stateId(st))}\n`);
    if (triggers.length > 0) {
      ctx.env.emit(
        `# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`,
      );
      const parsed = readDockerfile(`FROM scratch\n${triggers.join('\n')}`).stages[0]!.instructions;
      for (const instr of parsed) st = await this.instruction(st, instr, args, ctx);
    }
    const instrs = [...stage.instructions];
    for (const instr of instrs) {
      this.step(instr.original, ctx);
      st = await this.instruction(st, instr, args, ctx);
      ctx.env.emit(` ---> ${short(stateId(st))}\n`);
    }
    if (labels.length > 0) {
      // Docker's text for the injected step: keys sorted, `"key"='value'`.
      const line = `LABEL ${labels.map(([k, v]) => `${JSON.stringify(k)}='${v}'`).join(' ')}`;
      this.step(line, ctx);
      st = await this.instruction(
        st,
        {
          kind: 'LABEL',
          line: 0,
          endLine: 0,
          original: line,
          pairs: labels.map(([key, value]) => ({ key, value })),
        },
        args,
        ctx,
        false,
      );
      ctx.env.emit(` ---> ${short(stateId(st))}\n`);
    }
    return st;
  }

  private history(st: StageState, createdBy: string, empty: boolean): void {
    st.image.history = [
      ...(st.image.history ?? []),
      {
        created: new Date().toISOString(),
        created_by: createdBy,
        ...(empty ? { empty_layer: true } : {}),
      },
    ];
  }

  private addLayer(st: StageState, layer: IngestedLayer): void {
    this.made.push(layer);
    st.layers = [...st.layers, layer.descriptor];
    st.image.rootfs = { type: 'layers', diff_ids: [...st.image.rootfs.diff_ids, layer.diffID] };
    st.chainID = layer.chainID;
  }

  private async instruction(
    prev: StageState,
    raw: Instruction,
    args: StageArgs,
    ctx: StageContext,
    expand = true,
  ): Promise<StageState> {
    const st: StageState = structuredClone(prev);
    const c = (st.image.config ??= {});
    const env = c.Env ?? [];
    const used = new Set<string>();
    const escape = this.df.directives.escape;
    const vars = args.vars(env);
    const instr = expand ? expandInstruction(raw, { vars, escape, used }) : raw;
    if (instr.kind === 'ARG') for (const a of instr.args) args.declare(a.key, a.value);

    // The cache key: what decides this step's result (never line numbers or mtimes).
    const { line: _l, endLine: _e, original: _o, ...what } = instr;
    const parts: Record<string, unknown> = {
      what,
      vars: [...used].sort().map((n) => [n, vars.get(n) ?? null]),
    };
    let from: { chainID: Digest | undefined } | undefined;
    let plan: CopyPlan | undefined;
    // An ARG's own step does not depend on the value given: as Docker, a changed build arg
    // misses the cache where it is used (and at every RUN, whose environment holds it).
    if (instr.kind === 'RUN') parts['run'] = [args.runEnv(env), this.o.networkMode];
    if (instr.kind === 'COPY' || instr.kind === 'ADD') {
      if (instr.from !== undefined) {
        const dep = this.stageOf(instr.from);
        if (dep !== undefined && this.done.has(dep)) {
          const s = this.done.get(dep)!;
          from = { chainID: s.chainID };
          parts['from'] = s.key;
        } else if (dep !== undefined) {
          throw invalidArgument(`invalid from flag value ${instr.from}: stage not built yet`);
        } else {
          const img = await this.baseImage(instr.from, this.platform, ctx.env.signal);
          from = { chainID: chainIDOf(img.config.rootfs.diff_ids) };
          parts['from'] = img.id;
        }
      } else {
        plan = await planCopy(this.context.tree, instr, {
          dir: ctx.env.workDir,
          signal: ctx.env.signal,
        });
        parts['sources'] = plan.hash;
      }
    }
    const key = stepKey(prev.key, parts);
    if (!this.o.noCache) {
      const hit = await this.cache.get(key);
      if (hit) {
        ctx.env.emit(' ---> Using cache\n');
        return { ...hit, key };
      }
    }

    const nop = (comment: string, spaces = '  ') =>
      `${shellOf(c).join(' ')} #(nop)${spaces}${comment}`;
    let layer: IngestedLayer | undefined;
    switch (instr.kind) {
      case 'ARG':
        this.history(
          st,
          nop(
            `ARG ${instr.args.map((a) => (a.value === undefined ? a.key : `${a.key}=${a.value}`)).join(' ')}`,
          ),
          true,
        );
        break;
      case 'WORKDIR': {
        c.WorkingDir = resolveWorkdir(c.WorkingDir, instr.value);
        layer = await workdirStep(ctx.env, st.chainID, c.WorkingDir);
        this.history(st, nop(`WORKDIR ${c.WorkingDir}`, ' '), !layer);
        break;
      }
      case 'RUN': {
        const argv = this.runArgv(instr, c);
        const histArgs = args.historyArgs(env);
        const mounts = await planRunMounts(instr.mounts, {
          contextDir: () => this.context.dir(),
          cacheMountsDir: this.cacheMountsDir,
          workingDir: c.WorkingDir ?? '/',
          secrets: this.secrets,
        });
        if (argv.length === 1 && argv[0]!.startsWith('/dev/pipes/')) {
          const h = instr.heredocs[0]!;
          const script = path.join(ctx.env.workDir, `heredoc-${randomBytes(8).toString('hex')}`);
          await fsp.writeFile(script, h.chomp ? chompHeredoc(h.content) : h.content, {
            mode: 0o755,
          });
          await fsp.chmod(script, 0o755);
          mounts.binds.push(`${script}:${argv[0]}:ro`);
        }
        try {
          layer = await runStep(ctx.env, {
            ...mounts,
            exclude: mounts.exclude.map((p) => p.replace(/^\/+/, '')),
            argv,
            env: args.runEnv(env),
            config: c,
            chainID: st.chainID,
            networkMode:
              instr.network === 'none'
                ? 'none'
                : instr.network === 'host'
                  ? 'host'
                  : this.o.networkMode,
            extraHosts: this.o.extraHosts,
            ...(this.o.runLimits ? { limits: this.o.runLimits } : {}),
            rm: this.o.rm,
            forceRm: this.o.forceRm,
          });
        } finally {
          await removeFiles(mounts.cleanup);
        }
        const prefix = histArgs.length > 0 ? `|${histArgs.length} ${histArgs.join(' ')} ` : '';
        this.history(st, `${prefix}${argv.join(' ')}`, false);
        break;
      }
      case 'COPY':
      case 'ADD': {
        const out = await copyStep(
          ctx.env,
          {
            instr,
            context: this.context.tree,
            ...(from ? { from } : {}),
            workingDir: c.WorkingDir ?? '/',
            vars,
            escape,
            chainID: st.chainID,
          },
          plan,
        );
        layer = out.layer;
        this.history(st, nop(out.comment, ' '), false);
        break;
      }
      default:
        this.history(st, nop(applyConfigStep(st, instr)), true);
    }
    if (layer) this.addLayer(st, layer);
    st.image.created = st.image.history!.at(-1)!.created!;
    st.key = key;
    const { key: _k, ...cached } = st;
    await this.cache.put(key, cached, layer, prev.key);
    if (layer) this.recorded.add(layer.chainID);
    return st;
  }

  /** The argv of a RUN: exec form as given; shell form through SHELL, heredocs appended. */
  private runArgv(
    instr: Extract<Instruction, { kind: 'RUN' }>,
    c: NonNullable<ImageConfig['config']>,
  ): string[] {
    if (instr.command.json) return instr.command.argv;
    const shell = shellOf(c);
    const text = instr.command.text;
    if (instr.heredocs.length === 0) return [...shell, text];
    const only = instr.heredocs.length === 1 && /^<<-?["']?\w*["']?$/.test(text.trim());
    if (only) {
      const h = instr.heredocs[0]!;
      const body = h.chomp ? chompHeredoc(h.content) : h.content;
      // A script with a shebang runs as its own program (BuildKit's /dev/pipes/<name>).
      if (body.startsWith('#!')) return [`/dev/pipes/${h.name}`];
      return [...shell, body];
    }
    // The shell reads the heredocs itself: give it the line with the bodies after it.
    return [...shell, `${text}\n${instr.heredocs.map((h) => `${h.content}${h.name}\n`).join('')}`];
  }
}
