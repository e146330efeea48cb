import { createInterface } from 'node:readline';

import type { CommandSpec } from '../../command.js';
import { StatusError } from '../../command.js';
import { authKeyOf, storeAuth } from '../../docker-config.js';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** One line from a terminal; without echo for passwords. */
async function prompt(
  stdin: NodeJS.ReadStream,
  stdout: NodeJS.WriteStream,
  question: string,
  hidden: boolean,
): Promise<string> {
  stdout.write(question);
  if (hidden && stdin.isTTY) stdin.setRawMode(true);
  try {
    const rl = createInterface({ input: stdin, terminal: false });
    const line = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    rl.close();
    return line;
  } finally {
    if (hidden && stdin.isTTY) {
      stdin.setRawMode(false);
      stdout.write('\n');
    }
  }
}

export const command: CommandSpec = {
  usage: '[OPTIONS] [SERVER]',
  description: 'Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.',
  aliases: ['wharf login'],
  flags: [
    {
      name: 'password',
      short: 'p',
      type: 'string',
      help: 'Password or Personal Access Token (PAT)',
    },
    {
      name: 'password-stdin',
      type: 'bool',
      help: 'Take the Password or Personal Access Token (PAT) from stdin',
    },
    { name: 'username', short: 'u', type: 'string', help: 'Username' },
  ],
  args: { max: 1 },
  async run(cli, f, args) {
    const server = args[0] ?? '';
    let username = f.str('username');
    let password = f.str('password');
    if (password && f.bool('password-stdin')) {
      throw new StatusError(1, '--password and --password-stdin are mutually exclusive');
    }
    if (f.bool('password-stdin')) {
      if (!username) throw new StatusError(1, 'Must provide --username with --password-stdin');
      password = (await readAll(cli.stdin)).replace(/\r?\n$/, '');
    } else if (password) {
      cli.stderr.write(
        'WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n',
      );
    }
    if (!username || !password) {
      if (!cli.stdin.isTTY) {
        throw new StatusError(
          1,
          'Error: Cannot perform an interactive login from a non TTY device',
        );
      }
      if (!username) username = (await prompt(cli.stdin, cli.stdout, 'Username: ', false)).trim();
      if (!username) throw new StatusError(1, 'Error: Non-null Username Required');
      if (!password) password = await prompt(cli.stdin, cli.stdout, 'Password: ', true);
      if (!password) throw new StatusError(1, 'Error: Password Required');
    }
    const client = await cli.client();
    const key = authKeyOf(server);
    const res = await client.registryLogin({ username, password, serveraddress: key });
    const file = await storeAuth(cli.env, key, {
      username,
      password,
      ...(res.IdentityToken ? { identitytoken: res.IdentityToken } : {}),
    });
    cli.stderr.write(
      `WARNING! Your credentials are stored unencrypted in '${file}'.\n` +
        'Configure a credential helper to remove this warning.\n\n',
    );
    cli.stdout.write(`${res.Status || 'Login Succeeded'}\n`);
    return 0;
  },
};
