import { ApiError } from '../../../client/errors.js';
import type { CommandSpec } from '../../command.js';
import { StatusError } from '../../command.js';
import { enterRawMode, followTerminalSize, proxySignals, pumpHijacked } from '../../streams.js';
import { forEachName, startErrorStatus } from '../shared.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Start one or more stopped containers',
  aliases: ['wharf container start', 'wharf start'],
  flags: [
    { name: 'attach', short: 'a', type: 'bool', help: 'Attach STDOUT/STDERR and forward signals' },
    {
      name: 'detach-keys',
      type: 'string',
      help: 'Override the key sequence for detaching a container',
    },
    { name: 'interactive', short: 'i', type: 'bool', help: "Attach container's STDIN" },
  ],
  args: { min: 1 },
  async run(cli, f, args) {
    const client = await cli.client();
    const attach = f.bool('attach') || f.bool('interactive');
    if (!attach) {
      return forEachName(
        cli,
        args,
        (n) => client.containerStart(n),
        (failed) => `Error: failed to start containers: ${failed.join(', ')}`,
      );
    }
    if (args.length > 1)
      throw new StatusError(1, 'you cannot start and attach multiple containers at once');
    const info = await client.containerInspect(args[0] as string);
    const tty = info.Config.Tty === true;
    const withStdin = f.bool('interactive') && info.Config.OpenStdin === true;
    if (withStdin && tty && !cli.stdin.isTTY)
      throw new StatusError(1, 'the input device is not a TTY', true);
    const detachKeys = f.str('detach-keys') || undefined;
    const autoRemove = info.HostConfig.AutoRemove === true;
    const [conn, wait] = await Promise.all([
      client.containerAttach(info.Id, { stdin: withStdin, stdout: true, stderr: true, detachKeys }),
      client.containerWait(info.Id, autoRemove ? 'removed' : 'next-exit'),
    ]);
    const restore = tty && withStdin ? enterRawMode(cli.stdin) : () => {};
    let stopResize = (): void => {};
    let stopSignals = (): void => {};
    try {
      const pumped = pumpHijacked({
        socket: conn.socket,
        tty,
        stdin: withStdin ? cli.stdin : null,
        stdout: cli.stdout,
        stderr: cli.stderr,
        detachKeys,
      });
      try {
        await client.containerStart(info.Id);
      } catch (err) {
        conn.socket.destroy();
        if (err instanceof ApiError) {
          throw new StatusError(
            startErrorStatus(err.message),
            `Error response from daemon: ${err.message}`,
          );
        }
        throw err;
      }
      if (tty)
        stopResize = followTerminalSize(cli.stdout, (h, w) =>
          client.containerResize(info.Id, h, w),
        );
      else stopSignals = proxySignals((s) => client.containerKill(info.Id, s));
      if ((await pumped) === 'detached') return 0;
      const r = await wait.result;
      return r.StatusCode;
    } finally {
      stopResize();
      stopSignals();
      restore();
    }
  },
};
