/**
 * The `wharf` command: docker's syntax over the Engine API. Start-up matters: only this file,
 * the flag parser and the command table load eagerly; each command and the API client load
 * when used.
 */
import { ArgsError, checkArgs, StatusError, type Cli, type CommandSpec } from './command.js';
import { describeErrorText } from './errors.js';
import { FlagError, formatFlagHelp, parseFlags, type FlagDef } from './flags.js';
import { GROUPS, TOP_LEVEL, TOP_LEVEL_HELP } from './registry.js';
import type { EngineClient } from '../client/engine-client.js';

export const WHARF_VERSION = '0.1.0';

const GLOBAL_FLAGS: FlagDef[] = [
  {
    name: 'host',
    short: 'H',
    type: 'string',
    valueName: 'list',
    help: 'Daemon socket to connect to',
  },
  { name: 'debug', short: 'D', type: 'bool', help: 'Enable debug mode' },
  { name: 'log-level', short: 'l', type: 'string', help: 'Set the logging level', default: 'info' },
  { name: 'config', type: 'string', help: 'Location of client config files', hidden: true },
  { name: 'context', short: 'c', type: 'string', help: 'Ignored (no contexts)', hidden: true },
  { name: 'version', short: 'v', type: 'bool', help: 'Print version information and quit' },
];

function topHelp(): string {
  const width = Math.max(...TOP_LEVEL_HELP.map(([n]) => n.length)) + 3;
  const cmds = TOP_LEVEL_HELP.map(([n, d]) => `  ${n.padEnd(width)}${d}`).join('\n');
  const groups = Object.entries(GROUPS)
    .map(([n, g]) => `  ${n.padEnd(width)}${g.description}`)
    .join('\n');
  return `
Usage:  wharf [OPTIONS] COMMAND

A Docker-compatible container engine

Commands:
${cmds}

Management Commands:
${groups}

Global Options:
${formatFlagHelp(GLOBAL_FLAGS)}

Run 'wharf COMMAND --help' for more information on a command.
`;
}

function commandHelp(path: string, spec: CommandSpec): string {
  const aliases = spec.aliases?.length ? `\nAliases:\n  ${spec.aliases.join(', ')}\n` : '';
  return `
Usage:  ${path} ${spec.usage}

${spec.description}
${aliases}
Options:
${formatFlagHelp(spec.flags)}
`;
}

function groupHelp(name: string): string {
  const g = GROUPS[name] as (typeof GROUPS)[string];
  const names = Object.keys(g.commands).sort();
  return `
Usage:  wharf ${name} COMMAND

${g.description}

Commands:
${names.map((n) => `  ${n}`).join('\n')}

Run 'wharf ${name} COMMAND --help' for more information on a command.
`;
}

interface Resolved {
  path: string;
  load: () => Promise<{ command: CommandSpec }>;
  rest: string[];
}

function resolveCommand(args: string[], io: Pick<Cli, 'stdout' | 'stderr'>): Resolved | number {
  const name = args[0] as string;
  const group = GROUPS[name];
  if (group) {
    const sub = args[1];
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      io.stdout.write(groupHelp(name));
      return 0;
    }
    const load = group.commands[sub];
    if (!load) {
      io.stderr.write(
        `wharf: unknown command: wharf ${name} ${sub}\n\nUsage:  wharf ${name}\n\nRun 'wharf ${name} --help' for more information\n`,
      );
      return 1;
    }
    return { path: `wharf ${name} ${sub}`, load, rest: args.slice(2) };
  }
  const load = TOP_LEVEL[name];
  if (!load) {
    io.stderr.write(
      `wharf: unknown command: wharf ${name}\n\nRun 'wharf --help' for more information\n`,
    );
    return 1;
  }
  return { path: `wharf ${name}`, load, rest: args.slice(1) };
}

const describeError = describeErrorText;

export async function main(
  argv: string[],
  io: Pick<Cli, 'stdin' | 'stdout' | 'stderr' | 'env'>,
): Promise<number> {
  let global;
  try {
    global = parseFlags(GLOBAL_FLAGS, argv, { interspersed: false });
  } catch (err) {
    io.stderr.write(
      `${(err as Error).message}\n\nUsage:  wharf [OPTIONS] COMMAND [ARG...]\n\nRun 'wharf --help' for more information\n`,
    );
    return 125;
  }
  if (global.flags.bool('version')) {
    io.stdout.write(`Wharf version ${WHARF_VERSION}, build node-${process.versions.node}\n`);
    return 0;
  }
  if (global.help || global.args.length === 0 || global.args[0] === 'help') {
    io.stdout.write(topHelp());
    return global.args.length === 0 && !global.help ? 0 : 0;
  }
  const resolved = resolveCommand(global.args, io);
  if (typeof resolved === 'number') return resolved;
  const { path, load, rest } = resolved;
  let clientPromise: Promise<EngineClient> | undefined;
  const hostFlag = global.flags.str('host');
  const makeClient = (): Promise<EngineClient> =>
    (clientPromise ??= import('../client/index.js').then(
      (m) =>
        new m.EngineClient(m.resolveHost(hostFlag || undefined, io.env), {
          apiVersion: io.env.WHARF_API_VERSION || io.env.DOCKER_API_VERSION || undefined,
        }),
    ));
  // No /_ping up front: the client sends its first request at its own API version and
  // negotiates down only when an older daemon refuses it (EngineClient.raw).
  const { command } = await load();
  const cli: Cli = { ...io, commandPath: path, client: makeClient };
  const usage = `Usage:  ${path} ${command.usage}`;
  try {
    const parsed = parseFlags(command.flags, rest, { interspersed: command.interspersed ?? true });
    if (parsed.help) {
      io.stdout.write(commandHelp(path, command));
      return 0;
    }
    checkArgs(path, command.args, parsed.args);
    return await command.run(cli, parsed.flags, parsed.args);
  } catch (err) {
    if (err instanceof FlagError) {
      io.stderr.write(`${err.message}\n\n${usage}\n\nRun '${path} --help' for more information\n`);
      return 125;
    }
    if (err instanceof ArgsError) {
      io.stderr.write(
        `wharf: ${err.message}\n\n${usage}\n\n${err.hint} '${path} --help' for more information\n`,
      );
      return 1;
    }
    const status = err instanceof StatusError ? err.status : (command.statusOnError ?? 1);
    const text = describeError(err);
    if (command.statusOnError !== undefined && !(err instanceof StatusError && err.plain)) {
      io.stderr.write(`wharf: ${text}\n\nRun '${path} --help' for more information\n`);
    } else if (text !== '') {
      io.stderr.write(`${text}\n`);
    }
    return status;
  } finally {
    if (clientPromise)
      clientPromise.then(
        (c) => c.close(),
        () => {},
      );
  }
}

/** Entry point of bin/wharf. */
export async function runMain(): Promise<void> {
  let code: number;
  try {
    code = await main(process.argv.slice(2), {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
    });
  } catch (err) {
    process.stderr.write(`${describeError(err)}\n`);
    code = 1;
  }
  const exit = (): never => process.exit(code);
  // Exit only once stdout has taken everything: a slow reader (`wharf save x | gzip`) leaves
  // writes queued below the high-water mark, where no 'drain' comes. An empty write's
  // callback runs after every write queued before it.
  if (process.stdout.writableLength > 0) process.stdout.write('', exit);
  else exit();
}
