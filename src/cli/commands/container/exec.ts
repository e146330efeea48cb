import type { CommandSpec } from '../../command.js';
import { StatusError } from '../../command.js';
import { expandEnv, parseKeyValueFile } from '../../run-options.js';
import { enterRawMode, followTerminalSize, pumpHijacked } from '../../streams.js';
import { readTextFile } from '../shared.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
  description: 'Execute a command in a running container',
  aliases: ['wharf container exec', 'wharf exec'],
  flags: [
    {
      name: 'detach',
      short: 'd',
      type: 'bool',
      help: 'Detached mode: run command in the background',
    },
    {
      name: 'detach-keys',
      type: 'string',
      help: 'Override the key sequence for detaching a container',
    },
    { name: 'env', short: 'e', type: 'list', help: 'Set environment variables' },
    { name: 'env-file', type: 'list', help: 'Read in a file of environment variables' },
    { name: 'interactive', short: 'i', type: 'bool', help: 'Keep STDIN open even if not attached' },
    { name: 'privileged', type: 'bool', help: 'Give extended privileges to the command' },
    { name: 'tty', short: 't', type: 'bool', help: 'Allocate a pseudo-TTY' },
    {
      name: 'user',
      short: 'u',
      type: 'string',
      help: 'Username or UID (format: "<name|uid>[:<group|gid>]")',
    },
    { name: 'workdir', short: 'w', type: 'string', help: 'Working directory inside the container' },
  ],
  interspersed: false,
  args: { min: 2 },
  async run(cli, f, args) {
    const [container, ...cmd] = args as [string, ...string[]];
    const tty = f.bool('tty');
    const interactive = f.bool('interactive');
    const detach = f.bool('detach');
    if (!detach && interactive && tty && !cli.stdin.isTTY) {
      throw new StatusError(1, 'the input device is not a TTY', true);
    }
    const env: string[] = [];
    for (const file of f.list('env-file')) {
      env.push(...parseKeyValueFile(readTextFile(file), file, (k) => cli.env[k]));
    }
    for (const e of f.list('env')) env.push(expandEnv(e, cli.env));
    const detachKeys = f.str('detach-keys') || undefined;
    const consoleSize: [number, number] | null =
      tty && cli.stdout.isTTY ? [cli.stdout.rows ?? 0, cli.stdout.columns ?? 0] : null;
    const client = await cli.client();
    const { Id: execId } = await client.execCreate(container, {
      AttachStdin: interactive && !detach,
      AttachStdout: !detach,
      AttachStderr: !detach,
      Tty: tty,
      Env: env.length > 0 ? env : null,
      Cmd: cmd,
      Privileged: f.bool('privileged'),
      User: f.str('user') || undefined,
      WorkingDir: f.str('workdir') || undefined,
      DetachKeys: detachKeys,
      ConsoleSize: consoleSize,
    });
    if (detach) {
      await client.execStartDetached(execId, { Tty: tty, ConsoleSize: consoleSize });
      return 0;
    }
    const conn = await client.execStartAttached(execId, { Tty: tty, ConsoleSize: consoleSize });
    const restore = tty && interactive ? enterRawMode(cli.stdin) : () => {};
    const stopResize = tty
      ? followTerminalSize(cli.stdout, (h, w) => client.execResize(execId, h, w))
      : () => {};
    try {
      const outcome = await pumpHijacked({
        socket: conn.socket,
        tty,
        stdin: interactive ? cli.stdin : null,
        stdout: cli.stdout,
        stderr: cli.stderr,
        detachKeys,
      });
      if (outcome === 'detached') return 0;
    } finally {
      stopResize();
      restore();
    }
    const info = await client.execInspect(execId);
    return info.ExitCode ?? 0;
  },
};
