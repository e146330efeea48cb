import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

import type { CommandSpec } from '../../command.js';
import { ProgressRenderer } from '../../progress.js';

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Load an image from a tar archive or STDIN',
  aliases: ['wharf image load', 'wharf load'],
  flags: [
    {
      name: 'input',
      short: 'i',
      type: 'string',
      help: 'Read from tar archive file, instead of STDIN',
    },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress the load output' },
  ],
  args: { max: 0 },
  async run(cli, f) {
    const input = f.str('input');
    if (!input && cli.stdin.isTTY) {
      cli.stderr.write(
        'requested load from stdin, but stdin is empty. Use the -i flag or redirect\n',
      );
      return 1;
    }
    let body: Readable = cli.stdin;
    if (input) {
      const file = createReadStream(input);
      // Fail before talking to the daemon when the file is missing (as docker).
      await new Promise<void>((resolve, reject) => {
        file.once('open', () => resolve());
        file.once('error', (err: NodeJS.ErrnoException) =>
          reject(
            err.code === 'ENOENT' ? new Error(`open ${input}: no such file or directory`) : err,
          ),
        );
      });
      body = file;
    }
    const client = await cli.client();
    // As docker: "Loading layer" bars only on a terminal; the "Loaded image" lines always.
    const renderer = new ProgressRenderer(cli.stdout);
    await client.imageLoad(body, { quiet: f.bool('quiet') || !cli.stdout.isTTY }, (m) =>
      renderer.render(m),
    );
    return 0;
  },
};
