/**
 * COPY/ADD as a step: sources resolved and digested first (planCopy: the cache key needs the
 * digest before anything runs), then copied into a mounted snapshot of the stage (copy.ts)
 * and committed as a layer.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { applyLayer } from '../archive/index.js';
import { DockerIgnore, invalidArgument } from '../common/index.js';
import { resolveUserInRootfs } from '../containers/index.js';
import type { Digest } from '../oci/index.js';
import { ContextIndex } from './context-index.js';
import { matchSources } from './context.js';
import {
  copySource,
  isLocalArchive,
  writeFileInRoot,
  type CopyOptions,
  type Identity,
} from './copy.js';
import {
  chompHeredoc,
  processWord,
  type CopyInstruction,
  type Heredoc,
  type Vars,
} from './dockerfile/index.js';
import { downloadUrl } from './fetch-url.js';
import { Limiter } from './limit.js';
import type { IngestedLayer } from './ports.js';
import { DiskTree, joinRel, resolveInTree, statInTree, type SourceTree } from './source-tree.js';
import type { LayerPlan } from './layer-plan.js';
import { planStep, withMounted, type StepEnv } from './steps.js';

/** Where COPY --from reads: another stage's layers, or an image's. */
export interface CopyFrom {
  chainID: Digest | undefined;
}

export interface CopyRequest {
  instr: CopyInstruction;
  /** The build context. */
  context: SourceTree;
  from?: CopyFrom;
  workingDir: string;
  vars: Vars;
  escape: string;
  chainID: Digest | undefined;
}

async function identityOf(rootfs: string, chown: string | undefined): Promise<Identity> {
  if (!chown) return { uid: 0, gid: 0 };
  const [user, group] = chown.split(':', 2) as [string, string | undefined];
  try {
    const u = await resolveUserInRootfs(rootfs, user);
    if (group === undefined || group === '') return { uid: u.uid, gid: u.uid };
    const g = await resolveUserInRootfs(rootfs, `0:${group}`);
    return { uid: u.uid, gid: g.gid };
  } catch (err) {
    throw invalidArgument(
      `unable to convert uid/gid chown string to host mapping: ${(err as Error).message}`,
      err,
    );
  }
}

function heredocFor(instr: CopyInstruction, src: string): Heredoc | undefined {
  const m = /^\d*<<-?(.+)$/.exec(src);
  if (!m) return undefined;
  const name = m[1]!.replace(/["']/g, '');
  return instr.heredocs.find((h) => h.name === name);
}

/**
 * A digest of the sources' paths, modes, owners and contents (history now, the cache next);
 * what `exclude` leaves out (a path relative to its top source) does not count. Mtimes do
 * not count. A file counts by the digest of its content (the context index has it from
 * reading the tar; a host directory's files are read).
 */
export async function hashSources(
  tree: SourceTree,
  rels: string[],
  exclude?: (inner: string) => boolean,
): Promise<string> {
  const io = new Limiter(16);
  const known = tree instanceof ContextIndex ? tree : undefined;
  // A tree digest: each entry's metadata and content (or its children's digests, in name
  // order), computed in parallel, combined in a fixed order.
  // `rel` names the entry in the digest; `at` is where it is in the tree (its parents
  // resolved inside the tree once, at the top; below, names are taken as they are).
  const visit = async (rel: string, at: string, inner = ''): Promise<string> => {
    if (inner !== '' && exclude?.(inner)) return '';
    const st = await tree.lstat(at);
    const h = createHash('sha256').update(`${rel}\0${st.mode}\0${st.uid}:${st.gid}\0`);
    if (st.kind === 'symlink') h.update(await tree.readlink(at));
    else if (st.kind === 'dir') {
      const names = (await tree.readdir(at)).sort();
      const kids = await Promise.all(
        names.map((n) =>
          visit(rel === '' ? n : `${rel}/${n}`, joinRel(at, n), inner ? `${inner}/${n}` : n),
        ),
      );
      for (const k of kids) h.update(k);
    } else if (st.kind === 'file') {
      const digest = known?.contentDigest(at);
      if (digest) h.update(digest);
      else
        await io.run(async () => {
          const content = createHash('sha256');
          for await (const chunk of tree.read(at)) content.update(chunk as Buffer);
          h.update(content.digest());
        });
    }
    return h.digest('hex');
  };
  // A top-level source is not followed itself; its parents are resolved inside the tree.
  const top = async (rel: string): Promise<string> => {
    const slash = rel.lastIndexOf('/');
    if (slash < 0) return rel;
    return joinRel(await resolveInTree(tree, rel.slice(0, slash)), rel.slice(slash + 1));
  };
  const h = createHash('sha256');
  for (const d of await Promise.all(rels.map(async (r) => visit(r, await top(r))))) h.update(d);
  return h.digest('hex');
}

/**
 * A source path to an item; with `--parents`, the part of its path kept under the
 * destination: all of it, or what follows a `/./` pivot in the source as written.
 */
function contextItem(src: string, rel: string, parents: boolean): CopyItem {
  if (!parents) return { rel };
  const parts = src.split('/').filter((p) => p !== '');
  while (parts[0] === '.') parts.shift();
  const pivot = parts.indexOf('.');
  return { rel, keep: rel.split('/').slice(Math.max(pivot, 0)).join('/') };
}

type CopyItem =
  { heredoc: Heredoc } | { rel: string; keep?: string } | { url: string; file: string };

/** What a COPY/ADD copies, resolved before anything is written, with its source digest. */
export interface CopyPlan {
  items: CopyItem[];
  /** Digest of the sources (paths, modes, owners, contents; not mtimes): the cache's. */
  hash: string;
  /** History text: `COPY file:<digest> in <dest> ` as Docker's. */
  comment: string;
}

const destIsDirOf = (dest: string): boolean =>
  dest.endsWith('/') || dest === '.' || dest.endsWith('/.');

/** Resolve a COPY/ADD's sources in `tree` (the context, or another stage's root). */
export async function planCopy(
  tree: SourceTree,
  instr: CopyInstruction,
  fetching?: { dir: string; signal: AbortSignal },
): Promise<CopyPlan> {
  const items: CopyItem[] = [];
  const urlDigests: string[] = [];
  // `--exclude` (BuildKit): patterns in .dockerignore's syntax, matched against the sources
  // as given (context-relative) and against paths inside a copied directory.
  const ignore = instr.exclude.length > 0 ? new DockerIgnore(instr.exclude) : undefined;
  for (const src of instr.sources) {
    const heredoc = heredocFor(instr, src);
    if (heredoc) items.push({ heredoc });
    else if (/^https?:\/\//.test(src)) {
      if (instr.kind === 'COPY') throw invalidArgument(`source can't be a URL for COPY`);
      if (!fetching || instr.from !== undefined)
        throw invalidArgument(`${instr.kind} --from cannot take a URL source`);
      // Downloaded now: its content is part of the cache key, as Docker's.
      const got = await downloadUrl(src, fetching.dir, instr.checksum, fetching.signal);
      items.push({ url: src, file: got.file });
      urlDigests.push(got.digest);
    } else
      for (const rel of await matchSources(tree, src, instr.kind))
        if (!ignore?.excludes(rel)) items.push(contextItem(src, rel, instr.parents === true));
  }
  if (items.length > 1 && !instr.parents && !destIsDirOf(instr.dest))
    throw invalidArgument(
      `When using ${instr.kind} with more than one source file, the destination must be a directory and end with a /`,
    );
  const rels = items.flatMap((i) => ('rel' in i ? [i.rel] : []));
  let hash = await hashSources(tree, rels, ignore && ((p) => ignore.excludes(p)));
  if (urlDigests.length > 0)
    hash = createHash('sha256').update(hash).update(urlDigests.join('\n')).digest('hex');
  const only = items.length === 1 ? items[0]! : undefined;
  // Docker names a downloaded source by its digest alone (no `file:`).
  let kindWord = 'multi:';
  if (only && 'url' in only) kindWord = '';
  else if (only && 'rel' in only)
    kindWord = (await statInTree(tree, only.rel)).kind === 'dir' ? 'dir:' : 'file:';
  // Docker's text, with its missing space after the --chown value.
  const chown = instr.chown ? `--chown=${instr.chown}` : '';
  return { items, hash, comment: `${instr.kind} ${chown}${kindWord}${hash} in ${instr.dest} ` };
}

/** COPY/ADD: the copied files as a new layer, and the history comment. */
export async function copyStep(
  env: StepEnv,
  req: CopyRequest,
  contextPlan?: CopyPlan,
): Promise<{ layer: IngestedLayer; comment: string }> {
  const { instr } = req;
  let dest = req.instr.dest;
  // With --parents the destination is a directory the sources' paths are recreated in.
  const destIsDir = destIsDirOf(dest) || instr.parents === true;
  if (!dest.startsWith('/')) dest = path.posix.join(req.workingDir || '/', dest);
  dest = path.posix.normalize(dest);
  const chmod = instr.chmod ? parseInt(instr.chmod, 8) : undefined;
  let comment = '';
  const run = async (tree: SourceTree, fromContext: boolean): Promise<IngestedLayer> => {
    // Sources are resolved before writing: a missing one fails the step with nothing made.
    const sources =
      (fromContext && contextPlan) ||
      (await planCopy(tree, instr, { dir: env.workDir, signal: env.signal }));
    comment = sources.comment;
    const cleanup: string[] = [];
    try {
      const layer = await planStep(env, req.chainID, async (plan) => {
        const identity = await identityOf(plan.lowerRoot, instr.chown);
        const ignore = instr.exclude.length > 0 ? new DockerIgnore(instr.exclude) : undefined;
        const opts: CopyOptions = {
          identity,
          dropSetid: fromContext,
          ...(chmod !== undefined ? { chmod } : {}),
          ...(ignore ? { exclude: (rel: string) => ignore.excludes(rel) } : {}),
        };
        for (const item of sources.items) {
          if ('heredoc' in item) {
            const h = item.heredoc;
            let content = h.chomp ? chompHeredoc(h.content) : h.content;
            if (h.expand) content = processWord(content, req.vars, req.escape, undefined, true);
            await writeFileInRoot(plan, h.name, content, dest, destIsDir, opts);
            continue;
          }
          if ('url' in item) {
            // Never unpacked, whatever it holds; mode 0600 unless --chmod.
            const file = new DiskTree(path.dirname(item.file));
            await copySource(plan, file, path.basename(item.file), dest, destIsDir, {
              ...opts,
              dropSetid: false,
            });
            continue;
          }
          const src = await resolveInTree(tree, item.rel);
          if (item.keep !== undefined) {
            // --parents: a file lands in its kept directories, a directory becomes its kept path.
            const isDir = (await statInTree(tree, src)).kind === 'dir';
            const at = isDir
              ? path.posix.join(dest, item.keep)
              : path.posix.join(dest, path.posix.dirname(item.keep));
            await copySource(plan, tree, src, at, true, opts);
            continue;
          }
          if (
            instr.kind === 'ADD' &&
            fromContext &&
            (await statInTree(tree, src)).kind === 'file' &&
            (await isLocalArchive(tree, src))
          ) {
            if (
              await addArchive(env, tree, src, plan, dest, cleanup, {
                ...opts,
                identity: instr.chown ? identity : undefined,
                dropSetid: false,
              })
            )
              continue;
          }
          await copySource(plan, tree, src, dest, destIsDir, opts);
        }
      });
      return layer!;
    } finally {
      // Unpacked archives are read when the layer is written: removed only now.
      for (const dir of cleanup) await fsp.rm(dir, { recursive: true, force: true });
    }
  };
  if (req.from) {
    const layer = await withMounted(env, req.from.chainID, (root) =>
      run(new DiskTree(root), false),
    );
    return { layer, comment };
  }
  return { layer: await run(req.context, true), comment };
}

/**
 * ADD of a local tar: unpacked into a scratch directory (listed in `cleanup`, read again when
 * the layer is written) and copied into `dest`; false when it is not a readable tar after all.
 */
async function addArchive(
  env: StepEnv,
  tree: SourceTree,
  file: string,
  plan: LayerPlan,
  dest: string,
  cleanup: string[],
  opts: CopyOptions,
): Promise<boolean> {
  const tmp = path.join(env.workDir, `unpack-${randomBytes(8).toString('hex')}`);
  await fsp.mkdir(tmp, { recursive: true });
  cleanup.push(tmp);
  try {
    await applyLayer(tree.read(file), tmp);
  } catch {
    return false; // a gzip file that is not a tar is copied as it is
  }
  await copySource(plan, new DiskTree(tmp), '', dest, true, opts);
  return true;
}
