/**
 * Helpers for the `wharf` CLI tests: unique names, long-running CLI processes (logs -f,
 * attach, events), and side-by-side runs with the docker CLI on the same daemon.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

import { expect } from 'vitest';

import { eventually, ROOT, type CliResult, type DaemonHandle } from '../../harness/daemon.js';

/** A name no other test uses: `prefix-<6 hex>`. */
export function uniq(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export interface Running {
  stdout(): string;
  stderr(): string;
  write(input: string): void;
  end(): void;
  /** Resolves with the exit code (or -1 when killed by a signal). */
  exited: Promise<number>;
  kill(signal?: NodeJS.Signals): void;
  /** Polls until stdout contains `text`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

/** Starts `wharf ARGS...` without waiting for it (for commands that stream). */
export function startWharf(d: DaemonHandle, args: string[]): Running {
  const child = spawn(path.join(ROOT, 'bin/wharf'), [...args], {
    env: { ...process.env, WHARF_HOST: `unix://${d.socket}`, DOCKER_HOST: `unix://${d.socket}` },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  child.stdin.on('error', () => undefined);
  const exited = new Promise<number>((resolve) =>
    child.once('close', (code) => resolve(code ?? -1)),
  );
  const stdout = (): string => Buffer.concat(out).toString();
  return {
    stdout,
    stderr: () => Buffer.concat(err).toString(),
    write: (s) => child.stdin.write(s),
    end: () => child.stdin.end(),
    exited,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    waitFor: async (text, timeoutMs = 10_000) => {
      await eventually(() => stdout().includes(text), timeoutMs, `"${text}" on stdout`);
    },
  };
}

/** docker's text with "docker" spelled "wharf", for comparing messages. */
export function asWharf(text: string): string {
  return text.replace(/\bdocker\b/g, 'wharf');
}

/**
 * Output with its clock readings blurred ("2 seconds ago", "Up 3 seconds") and columns
 * collapsed: what two runs a moment apart still agree on.
 */
export function blurTimes(text: string): string {
  return text
    .replace(
      /\b(Less than a second|About an? (minute|hour)|an? (second|minute|hour)|\d+ (seconds?|minutes?|hours?))\b/g,
      '<time>',
    )
    .replace(/ {2,}/g, '  ');
}

/**
 * Runs the same command with both CLIs against the daemon and expects the same exit code,
 * the same stdout and (with "docker" read as "wharf") the same stderr. Outputs that differ
 * only in relative times (the two runs straddled a second) are compared with those blurred.
 * Returns wharf's result.
 */
export function expectSame(
  d: DaemonHandle,
  args: string[],
  opts: { stderr?: boolean; input?: string | Buffer } = {},
): CliResult {
  const docker = d.cli(args, { input: opts.input });
  const wharf = d.wharf(args, { input: opts.input });
  const view = (r: CliResult): object => ({ args, code: r.code, stdout: r.stdout });
  if (wharf.stdout !== docker.stdout && blurTimes(wharf.stdout) === blurTimes(docker.stdout)) {
    expect(wharf.code).toBe(docker.code);
  } else {
    expect(view(wharf)).toEqual(view(docker));
  }
  if (opts.stderr !== false) expect(wharf.stderr).toBe(asWharf(docker.stderr));
  return wharf;
}

/** Expects exit 0 and returns stdout. */
export function ok(r: CliResult): string {
  expect(r.stderr, `stderr of a command expected to succeed`).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}
