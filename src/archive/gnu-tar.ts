import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { ExecError } from '../common/index.js';

/**
 * GNU tar does the syscalls Node lacks (mknod, lchown, xattrs, utimensat on symlinks). It is
 * only ever fed archives that LayerSanitizer produced, never untrusted input.
 */
export function extractArgs(destDir: string): string[] {
  return [
    'tar',
    '--extract',
    '--file=-',
    // 1 MiB reads instead of 10 KiB records: fewer syscalls and wake-ups on a large layer.
    '--blocking-factor=2048',
    '--read-full-records',
    `--directory=${destDir}`,
    '--numeric-owner',
    '--same-owner',
    '--same-permissions',
    '--xattrs',
    '--xattrs-include=*',
    '--no-acls',
    '--no-selinux',
  ];
}

/** Create-side argv: names come NUL-separated on stdin, sorted, relative to `dir`. */
export function createArgs(dir: string): string[] {
  return [
    'tar',
    '--create',
    '--file=-',
    `--directory=${dir}`,
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    '--numeric-owner',
    '--xattrs',
    '--xattrs-include=*',
    '--sort=name',
    '--null',
    '--verbatim-files-from',
    '--files-from=-',
  ];
}

/** Run `tar --extract` with `input` as its stdin; rejects with the input's error first. */
export async function runExtract(destDir: string, input: Readable): Promise<void> {
  const argv = extractArgs(destDir);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (b: Buffer) => stderr.push(b));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (e) => reject(new ExecError(argv, null, '', e)));
    child.on('close', (code) => resolve(code));
  });
  let inputError: unknown;
  try {
    await pipeline(input, child.stdin);
  } catch (err) {
    inputError = err;
  }
  const code = await exited;
  if (inputError !== undefined && !isPipeError(inputError)) throw inputError;
  if (code !== 0) throw new ExecError(argv, code, Buffer.concat(stderr).toString());
  if (inputError !== undefined) throw inputError;
}

function isPipeError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/** Stream `tar --create` of the given top-level names; the stream errors if tar fails. */
export function runCreate(dir: string, names: string[]): Readable {
  const argv = createArgs(dir);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new PassThrough();
  const stderr: Buffer[] = [];
  child.stderr.on('data', (b: Buffer) => stderr.push(b));
  child.on('error', (e) => out.destroy(new ExecError(argv, null, '', e)));
  child.stdout.pipe(out, { end: false });
  let code: number | null | undefined;
  let stdoutDone = false;
  const finish = (): void => {
    if (code === undefined || !stdoutDone) return;
    if (code === 0) out.end();
    else out.destroy(new ExecError(argv, code, Buffer.concat(stderr).toString()));
  };
  child.stdout.on('end', () => {
    stdoutDone = true;
    finish();
  });
  child.on('exit', (c) => {
    code = c;
    finish();
  });
  // The consumer gave up: stop tar (our own child, by its handle).
  out.on('close', () => {
    if (code === undefined) child.kill('SIGTERM');
  });
  child.stdin.on('error', () => {
    /* tar exited early; its exit code tells */
  });
  child.stdin.end(Buffer.concat(names.map((n) => Buffer.from(`${n}\0`, 'latin1'))));
  return out;
}
