import { ApiError } from '../../../client/errors.js';
import { StatusError, type Cli, type CommandSpec } from '../../command.js';
import type { FlagValues } from '../../flags.js';
import { CONTAINER_FLAGS, RUN_ONLY_FLAGS } from '../../run-flags.js';
import { runOptionsToCreateBody } from '../../run-options.js';
import {
  enterRawMode,
  followTerminalSize,
  pumpHijacked,
  proxySignals,
  type PumpOutcome,
} from '../../streams.js';
import { createFromPlan, readTextFile, startErrorStatus } from '../shared.js';

async function run(cli: Cli, f: FlagValues, args: string[]): Promise<number> {
  const detach = f.bool('detach');
  const plan = runOptionsToCreateBody(
    f,
    args,
    { env: cli.env, readFile: readTextFile, cwd: process.cwd() },
    { detach },
  );
  const { body } = plan;
  const tty = body.Tty === true;
  const autoRemove = body.HostConfig?.AutoRemove === true;
  if (!detach && body.AttachStdin && tty && !cli.stdin.isTTY) {
    throw new StatusError(1, 'the input device is not a TTY', true);
  }
  if (tty && cli.stdout.isTTY && body.HostConfig) {
    body.HostConfig.ConsoleSize = [cli.stdout.rows ?? 0, cli.stdout.columns ?? 0];
  }
  const client = await cli.client();
  const id = await createFromPlan(cli, client, plan, f.str('pull') || 'missing');

  if (detach) {
    await startOrExplain(() => client.containerStart(id));
    cli.stdout.write(`${id}\n`);
    return 0;
  }

  const detachKeys = f.str('detach-keys') || undefined;
  const attaching = body.AttachStdin || body.AttachStdout || body.AttachStderr;
  // Attach and register the wait before starting, so no output and no exit is missed.
  const [conn, wait] = await Promise.all([
    attaching
      ? client.containerAttach(id, {
          stdin: body.AttachStdin,
          stdout: body.AttachStdout,
          stderr: body.AttachStderr,
          detachKeys,
        })
      : Promise.resolve(undefined),
    client.containerWait(id, autoRemove ? 'removed' : 'next-exit'),
  ]);

  const restoreTerminal = tty && body.AttachStdin ? enterRawMode(cli.stdin) : () => {};
  let stopSignals = (): void => {};
  let stopResize = (): void => {};
  try {
    let pumped: Promise<PumpOutcome> = Promise.resolve('eof');
    if (conn) {
      pumped = pumpHijacked({
        socket: conn.socket,
        tty,
        stdin: body.AttachStdin ? cli.stdin : null,
        stdout: body.AttachStdout ? cli.stdout : null,
        stderr: body.AttachStderr ? cli.stderr : null,
        detachKeys,
      });
    }
    try {
      await client.containerStart(id);
    } catch (err) {
      // The daemon removes an --rm container whose start failed, as dockerd does.
      conn?.socket.destroy();
      throw startFailure(err);
    }
    if (tty)
      stopResize = followTerminalSize(cli.stdout, (h, w) => client.containerResize(id, h, w));
    if (!tty && f.bool('sig-proxy'))
      stopSignals = proxySignals((sig) => client.containerKill(id, sig));

    const outcome = await pumped;
    if (outcome === 'detached') {
      restoreTerminal();
      cli.stderr.write('\n');
      return 0;
    }
    const res = await wait.result;
    if (res.Error?.Message) throw new StatusError(125, res.Error.Message);
    return res.StatusCode;
  } finally {
    stopResize();
    stopSignals();
    restoreTerminal();
  }
}

function startFailure(err: unknown): unknown {
  if (err instanceof ApiError) {
    return new StatusError(
      startErrorStatus(err.message),
      `Error response from daemon: ${err.message}`,
    );
  }
  return err;
}

async function startOrExplain(start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (err) {
    throw startFailure(err);
  }
}

export const command: CommandSpec = {
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create and run a new container from an image',
  aliases: ['wharf container run', 'wharf run'],
  flags: [...CONTAINER_FLAGS, ...RUN_ONLY_FLAGS],
  interspersed: false,
  args: { min: 1 },
  statusOnError: 125,
  run,
};
