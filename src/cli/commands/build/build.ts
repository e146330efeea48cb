import { promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';

import type { CommandSpec } from '../../command.js';
import { StatusError } from '../../command.js';
import { contextTar } from './context.js';
import { BuildProgress } from './progress.js';
import { secretsHeader } from './secrets.js';
import { configPath, loadAuth } from '../../docker-config.js';
import type { RegistryAuthConfig } from '../../../client/index.js';

/** `KEY=value` flags to a map; `KEY` alone takes the value from the environment (docker's). */
function keyValues(list: string[], env: NodeJS.ProcessEnv): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq === 0) throw new Error(`invalid argument "${kv}": key can not be empty`);
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
    else out[kv] = env[kv] ?? null;
  }
  return out;
}

/** Every stored credential, keyed by registry, as the docker CLI sends them for a build. */
async function registryConfigHeader(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  let auths: Record<string, unknown>;
  try {
    const cfg = JSON.parse(await fsp.readFile(configPath(env), 'utf8')) as { auths?: object };
    auths = (cfg.auths ?? {}) as Record<string, unknown>;
  } catch {
    return undefined; // no config: no credentials
  }
  const out: Record<string, RegistryAuthConfig> = {};
  for (const server of Object.keys(auths)) {
    const a = await loadAuth(env, server);
    if (a) out[server] = a;
  }
  if (Object.keys(out).length === 0) return undefined;
  return Buffer.from(JSON.stringify(out)).toString('base64url');
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export const command: CommandSpec = {
  usage: '[OPTIONS] PATH | -',
  description: 'Build an image from a Dockerfile',
  aliases: ['wharf image build', 'wharf build'],
  flags: [
    {
      name: 'tag',
      short: 't',
      type: 'list',
      help: 'Name and optionally a tag in the "name:tag" format',
    },
    {
      name: 'file',
      short: 'f',
      type: 'string',
      help: 'Name of the Dockerfile (Default is "PATH/Dockerfile")',
    },
    { name: 'build-arg', type: 'list', help: 'Set build-time variables' },
    { name: 'label', type: 'list', help: 'Set metadata for an image' },
    { name: 'target', type: 'string', help: 'Set the target build stage to build.' },
    { name: 'no-cache', type: 'bool', help: 'Do not use cache when building the image' },
    {
      name: 'quiet',
      short: 'q',
      type: 'bool',
      help: 'Suppress the build output and print image ID on success',
    },
    {
      name: 'rm',
      type: 'bool',
      default: true,
      help: 'Remove intermediate containers after a successful build',
    },
    { name: 'force-rm', type: 'bool', help: 'Always remove intermediate containers' },
    {
      name: 'network',
      type: 'string',
      default: 'default',
      help: 'Set the networking mode for the RUN instructions during build',
    },
    { name: 'add-host', type: 'list', help: 'Add a custom host-to-IP mapping ("host:ip")' },
    { name: 'iidfile', type: 'string', help: 'Write the image ID to the file' },
    {
      name: 'squash',
      type: 'bool',
      help: 'Squash newly built layers into a single new layer',
    },
    { name: 'pull', type: 'bool', help: 'Always attempt to pull a newer version of the image' },
    { name: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable' },
    {
      name: 'secret',
      type: 'list',
      help: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]" or "id=x,env=VAR")',
    },
    {
      name: 'progress-plain',
      type: 'bool',
      help: 'Print the build output as it comes, even on a terminal',
    },
  ],
  args: { min: 1, max: 1 },
  async run(cli, f, args) {
    const source = args[0]!;
    const quiet = f.bool('quiet');
    let body: Readable | NodeJS.ReadStream;
    let dockerfile = f.str('file') || undefined;
    if (source === '-') {
      if (dockerfile === '-')
        throw new Error("invalid argument: can't use stdin for both build context and dockerfile");
      body = cli.stdin; // a tar (or a gzip'ed tar) on stdin
    } else {
      const text = dockerfile === '-' ? await readAll(cli.stdin) : undefined;
      const ctx = await contextTar(source, dockerfile === '-' ? undefined : dockerfile, text);
      body = ctx.tar;
      dockerfile = ctx.dockerfile;
    }
    // Read before anything is sent: a missing secret file fails here.
    const secrets = await secretsHeader(f.list('secret'), cli.env);
    const client = await cli.client();
    const registryConfig = await registryConfigHeader(cli.env);
    let imageId = '';
    // On a terminal: a redrawn step list; elsewhere the stream as it comes.
    const progress =
      cli.stdout.isTTY && !quiet && !f.bool('progress-plain')
        ? new BuildProgress(cli.stdout)
        : undefined;
    const ticker = progress ? setInterval(() => progress.write(''), 250) : undefined;
    ticker?.unref();
    const print = (text: string): void => {
      if (progress) progress.write(text);
      else cli.stdout.write(text);
    };
    try {
      await client.imageBuild(
        {
          t: f.list('tag'),
          dockerfile,
          buildargs: JSON.stringify(keyValues(f.list('build-arg'), cli.env)),
          labels: JSON.stringify(keyValues(f.list('label'), cli.env)),
          target: f.str('target') || undefined,
          nocache: f.bool('no-cache') ? '1' : undefined,
          q: quiet ? '1' : undefined,
          rm: f.bool('rm') ? '1' : '0',
          forcerm: f.bool('force-rm') ? '1' : undefined,
          networkmode: f.str('network'),
          extrahosts: f.list('add-host').length ? f.list('add-host').join(',') : undefined,
          pull: f.bool('pull') ? '1' : undefined,
          squash: f.bool('squash') ? '1' : undefined,
          platform: f.str('platform') || undefined,
        },
        body as Readable,
        (m) => {
          const aux = m.aux as { ID?: string } | undefined;
          if (aux?.ID) imageId = aux.ID;
          if (m.stream && !quiet) print(m.stream);
          // A base image's pull: its status lines (without the byte counts), as plain output.
          else if (m.status && !quiet && m.progressDetail?.current === undefined)
            print(`${m.id ? `${m.id}: ` : ''}${m.status}\n`);
        },
        undefined,
        registryConfig,
        secrets,
      );
    } catch (err) {
      if (progress) {
        // The failed step's output, unfolded, above the error.
        progress.finish();
        for (const line of progress.failedOutput()) cli.stdout.write(`${line}\n`);
      }
      const code = (err as { exitCode?: unknown }).exitCode;
      if (typeof code === 'number' && code > 0)
        throw new StatusError(code, (err as Error).message, true);
      throw err;
    } finally {
      if (ticker) clearInterval(ticker);
    }
    progress?.finish();
    if (quiet) cli.stdout.write(`${imageId}\n`);
    const iid = f.str('iidfile');
    if (iid) await fsp.writeFile(iid, imageId);
    return 0;
  },
};
