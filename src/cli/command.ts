/** What a command module exports, and what it gets to run. */
import type { EngineClient } from '../client/engine-client.js';
import type { FlagDef, FlagValues } from './flags.js';

export interface CliIO {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

export interface Cli extends CliIO {
  /** How the command was invoked, e.g. "wharf container ls" (for usage and errors). */
  commandPath: string;
  /** The API client, created on first use. */
  client(): Promise<EngineClient>;
}

export interface ArgsSpec {
  min?: number;
  max?: number;
}

export interface CommandSpec {
  /** After the command path: "[OPTIONS] IMAGE [COMMAND] [ARG...]". */
  usage: string;
  description: string;
  aliases?: string[];
  flags: FlagDef[];
  /** false: flags end at the first positional (run, create, exec). */
  interspersed?: boolean;
  args?: ArgsSpec;
  /** run/create report daemon and flag errors with status 125, prefixed "wharf: ". */
  statusOnError?: number;
  run(cli: Cli, flags: FlagValues, args: string[]): Promise<number>;
}

/** An error that ends the command with a given exit status (docker's cli.StatusError). */
export class StatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Printed as is, without run/create's "wharf: " prefix and usage hint. */
    readonly plain = false,
  ) {
    super(message);
    this.name = 'StatusError';
  }
}

/**
 * Argument count errors: docker exits 1 with the usage. Its exact-count and no-argument
 * checks end with "Run '… --help'", the others with "See '… --help'".
 */
export class ArgsError extends Error {
  constructor(
    message: string,
    readonly hint: 'Run' | 'See' = 'See',
  ) {
    super(message);
    this.name = 'ArgsError';
  }
}

export function checkArgs(path: string, spec: ArgsSpec | undefined, args: readonly string[]): void {
  if (!spec) return;
  const { min, max } = spec;
  const plural = (n: number): string => (n === 1 ? 'argument' : 'arguments');
  if (max === 0 && args.length > 0) throw new ArgsError(`'${path}' accepts no arguments`, 'Run');
  if (min !== undefined && max !== undefined && min === max) {
    if (args.length !== min) throw new ArgsError(`'${path}' requires ${min} ${plural(min)}`, 'Run');
    return;
  }
  if (min !== undefined && max !== undefined && (args.length < min || args.length > max)) {
    throw new ArgsError(`'${path}' requires at least ${min} and at most ${max} ${plural(max)}`);
  }
  if (min !== undefined && args.length < min) {
    throw new ArgsError(`'${path}' requires at least ${min} ${plural(min)}`);
  }
  if (max !== undefined && args.length > max) {
    throw new ArgsError(`'${path}' requires at most ${max} ${plural(max)}`);
  }
}

/** The --format flag every listing command has. */
export const FORMAT_FLAG: FlagDef = {
  name: 'format',
  type: 'string',
  help: "Format output using a custom template:\n'table', 'table TEMPLATE', 'json', or 'TEMPLATE'",
};

export const FILTER_FLAG: FlagDef = {
  name: 'filter',
  short: 'f',
  type: 'list',
  valueName: 'filter',
  help: 'Filter output based on conditions provided',
};

export function write(stream: NodeJS.WritableStream, text: string): void {
  if (text !== '') stream.write(text);
}
