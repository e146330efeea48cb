import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type { CommandSpec } from '../../command.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  aliases: ['wharf image save', 'wharf save'],
  flags: [
    { name: 'output', short: 'o', type: 'string', help: 'Write to a file, instead of STDOUT' },
  ],
  args: { min: 1 },
  async run(cli, f, args) {
    const output = f.str('output');
    if (!output && cli.stdout.isTTY) {
      cli.stderr.write('cowardly refusing to save to a terminal. Use the -o flag or redirect\n');
      return 1;
    }
    const client = await cli.client();
    const res = await client.imageSave(args as string[]);
    if (!output) {
      await pipeline(res, cli.stdout as Writable, { end: false });
      return 0;
    }
    // As docker: into a temporary file beside the target, renamed over it when complete, so
    // a failed save never leaves a truncated archive under the requested name.
    const tmp = path.join(
      path.dirname(output),
      `.${path.basename(output)}.${randomBytes(4).toString('hex')}.tmp`,
    );
    try {
      await pipeline(res, createWriteStream(tmp, { mode: 0o644 }));
      if (!res.complete) throw new Error('the daemon ended the archive early');
      await fsp.rename(tmp, output);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    return 0;
  },
};
