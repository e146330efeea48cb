/** Helpers several commands share. */
import { readFileSync } from 'node:fs';

import { ApiError } from '../../client/errors.js';
import type { EngineClient } from '../../client/engine-client.js';
import type { Cli } from '../command.js';
import { StatusError } from '../command.js';
import { describeErrorText } from '../errors.js';
import type { CreatePlan } from '../run-options.js';

/**
 * Runs `op` on every name in parallel, then prints, in argument order, the name (or what
 * `op` returned) on stdout for successes and the error on stderr for failures: exit 1 if
 * any failed (docker's parallel operations).
 */
export async function forEachName(
  cli: Cli,
  names: readonly string[],
  op: (name: string) => Promise<string | void>,
  /** A last stderr line naming the failures (docker start's "failed to start containers"). */
  summary?: (failed: string[]) => string,
): Promise<number> {
  const results = await Promise.allSettled(names.map((n) => op(n)));
  const failed: string[] = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') {
      const text = r.value === undefined ? names[i] : r.value;
      if (text !== '') cli.stdout.write(`${text}\n`);
    } else {
      failed.push(names[i] as string);
      cli.stderr.write(`${describeErrorText(r.reason)}\n`);
    }
  });
  if (failed.length > 0 && summary) cli.stderr.write(`${summary(failed)}\n`);
  return failed.length > 0 ? 1 : 0;
}

/** "busybox" → "busybox:latest", as docker names an image it could not find. */
export function normalizeImageRef(ref: string): string {
  if (ref.includes('@')) return ref;
  const lastSlash = ref.lastIndexOf('/');
  return ref.slice(lastSlash + 1).includes(':') ? ref : `${ref}:latest`;
}

export function isNoSuchImage(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 404 && /no such image/i.test(err.message);
}

/** Creates the container of a run/create plan; prints docker's warnings and missing-image line. */
export async function createFromPlan(
  cli: Cli,
  client: EngineClient,
  plan: CreatePlan,
  pull: string,
): Promise<string> {
  const cidfile = plan.body.HostConfig?.ContainerIDFile;
  if (cidfile) {
    try {
      readFileSync(cidfile);
      throw new StatusError(
        125,
        `container ID file found, make sure the other container isn't running or delete ${cidfile}`,
      );
    } catch (err) {
      if (err instanceof StatusError) throw err;
    }
  }
  if (pull === 'always') {
    throw new StatusError(
      125,
      'pulling images is not supported yet: use --pull=missing or --pull=never',
    );
  }
  let res;
  try {
    res = await client.containerCreate(plan.body, { name: plan.name, platform: plan.platform });
  } catch (err) {
    if (isNoSuchImage(err) && pull !== 'never') {
      // TODO(pull): pull the image once the daemon serves POST /images/create?fromImage=.
      cli.stderr.write(`Unable to find image '${normalizeImageRef(plan.image)}' locally\n`);
    }
    throw err;
  }
  for (const w of res.Warnings ?? []) cli.stderr.write(`WARNING: ${w}\n`);
  if (cidfile) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(cidfile, res.Id);
  }
  return res.Id;
}

/** docker's exit status for a failed start: 127 command not found, 126 not runnable, else 125. */
export function startErrorStatus(message: string): number {
  if (
    message.includes('executable file not found') ||
    message.includes('no such file or directory') ||
    message.includes('system cannot find the file specified')
  ) {
    return 127;
  }
  if (message.includes('permission denied') || message.includes('is a directory')) return 126;
  return 125;
}

export function readTextFile(path: string): string {
  return readFileSync(path, 'utf8');
}
