import { spawn, type SpawnOptions } from 'node:child_process';

import { WharfError } from './errors.js';

/** A subprocess that exited non-zero (or could not start); carries argv, exit code and stderr. */
export class ExecError extends WharfError {
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(argv: readonly string[], exitCode: number | null, stderr: string, cause?: unknown) {
    const detail = stderr.trim() || (cause instanceof Error ? cause.message : '');
    super(
      'internal',
      'ERR_EXEC',
      `${argv[0]} ${argv.slice(1, 3).join(' ')}: exit ${exitCode}: ${detail}`,
      { cause },
    );
    this.name = 'ExecError';
    this.argv = argv;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
  /** Resolve with the result instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
  /** Extra stdio entries after 0-2 (for passing fds to the child). */
  extraStdio?: SpawnOptions['stdio'];
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Run a binary with an argv array (never a shell) and collect its output. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    const stdio: SpawnOptions['stdio'] = [
      'pipe',
      'pipe',
      'pipe',
      ...((opts.extraStdio as unknown[]) ?? []),
    ] as SpawnOptions['stdio'];
    const child = spawn(cmd!, args, { env: opts.env, cwd: opts.cwd, signal: opts.signal, stdio });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new ExecError(argv, null, Buffer.concat(err).toString(), e)));
    child.on('close', (code, sig) => {
      const res = {
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        exitCode: code ?? (sig ? 128 : -1),
      };
      if (res.exitCode !== 0 && !opts.allowFailure)
        reject(new ExecError(argv, res.exitCode, res.stderr));
      else resolve(res);
    });
    child.stdin!.on('error', () => {
      /* the child may exit before reading its input */
    });
    child.stdin!.end(opts.input ?? '');
  });
}
