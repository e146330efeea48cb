import type { CommandSpec } from '../../command.js';
import { StatusError } from '../../command.js';
import { enterRawMode, followTerminalSize, proxySignals, pumpHijacked } from '../../streams.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER',
  description: 'Attach local standard input, output, and error streams to a running container',
  aliases: ['wharf container attach', 'wharf attach'],
  flags: [
    {
      name: 'detach-keys',
      type: 'string',
      help: 'Override the key sequence for detaching a container',
    },
    { name: 'no-stdin', type: 'bool', help: 'Do not attach STDIN' },
    {
      name: 'sig-proxy',
      type: 'bool',
      help: 'Proxy all received signals to the process',
      default: true,
    },
  ],
  args: { min: 1, max: 1 },
  async run(cli, f, args) {
    const client = await cli.client();
    const name = args[0] as string;
    const info = await client.containerInspect(name);
    if (!info.State.Running)
      throw new StatusError(1, 'You cannot attach to a stopped container, start it first');
    if (info.State.Paused)
      throw new StatusError(1, 'You cannot attach to a paused container, unpause it first');
    if (info.State.Restarting)
      throw new StatusError(
        1,
        'You cannot attach to a restarting container, wait until it is running',
      );
    const tty = info.Config.Tty === true;
    const withStdin = info.Config.OpenStdin === true && !f.bool('no-stdin');
    if (withStdin && tty && !cli.stdin.isTTY)
      throw new StatusError(1, 'the input device is not a TTY', true);
    const detachKeys = f.str('detach-keys') || undefined;
    const [conn, wait] = await Promise.all([
      client.containerAttach(info.Id, { stdin: withStdin, stdout: true, stderr: true, detachKeys }),
      client.containerWait(info.Id, 'not-running'),
    ]);
    const restore = tty && withStdin ? enterRawMode(cli.stdin) : () => {};
    const stopResize = tty
      ? followTerminalSize(cli.stdout, (h, w) => client.containerResize(info.Id, h, w))
      : () => {};
    const stopSignals =
      !tty && f.bool('sig-proxy')
        ? proxySignals((s) => client.containerKill(info.Id, s))
        : () => {};
    try {
      const outcome = await pumpHijacked({
        socket: conn.socket,
        tty,
        stdin: withStdin ? cli.stdin : null,
        stdout: cli.stdout,
        stderr: cli.stderr,
        detachKeys,
      });
      if (outcome === 'detached') return 0;
      const r = await wait.result;
      return r.StatusCode;
    } finally {
      stopResize();
      stopSignals();
      restore();
    }
  },
};
