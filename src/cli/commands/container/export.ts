import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type { CommandSpec } from '../../command.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER',
  description: "Export a container's filesystem as a tar archive",
  aliases: ['wharf container export', 'wharf export'],
  flags: [
    { name: 'output', short: 'o', type: 'string', help: 'Write to a file, instead of STDOUT' },
  ],
  args: { min: 1, max: 1 },
  async run(cli, f, args) {
    const output = f.str('output');
    if (!output && cli.stdout.isTTY) {
      cli.stderr.write('cowardly refusing to save to a terminal. Use the -o flag or redirect\n');
      return 1;
    }
    const client = await cli.client();
    const res = await client.containerExport(args[0] as string);
    if (!output) {
      await pipeline(res, cli.stdout as Writable, { end: false });
      return 0;
    }
    // As docker: into a temporary file beside the target, renamed over it when complete.
    const tmp = path.join(
      path.dirname(output),
      `.${path.basename(output)}.${randomBytes(4).toString('hex')}.tmp`,
    );
    try {
      await pipeline(res, createWriteStream(tmp, { mode: 0o644 }));
      await fsp.rename(tmp, output);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    return 0;
  },
};
