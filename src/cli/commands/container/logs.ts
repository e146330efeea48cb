import { StreamDemuxer } from '../../../client/stdcopy.js';
import type { CommandSpec } from '../../command.js';
import { getTimestamp } from '../../units.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER',
  description: 'Fetch the logs of a container',
  aliases: ['wharf container logs', 'wharf logs'],
  flags: [
    { name: 'details', type: 'bool', help: 'Show extra details provided to logs' },
    { name: 'follow', short: 'f', type: 'bool', help: 'Follow log output' },
    {
      name: 'since',
      type: 'string',
      help: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
    },
    {
      name: 'tail',
      short: 'n',
      type: 'string',
      help: 'Number of lines to show from the end of the logs',
      default: 'all',
    },
    { name: 'timestamps', short: 't', type: 'bool', help: 'Show timestamps' },
    {
      name: 'until',
      type: 'string',
      help: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
    },
  ],
  args: { min: 1, max: 1 },
  async run(cli, f, args) {
    const client = await cli.client();
    const name = args[0] as string;
    const info = await client.containerInspect(name);
    const res = await client.containerLogs(name, {
      follow: f.bool('follow'),
      since: f.str('since') ? getTimestamp(f.str('since')) : undefined,
      until: f.str('until') ? getTimestamp(f.str('until')) : undefined,
      timestamps: f.bool('timestamps'),
      tail: f.str('tail'),
      details: f.bool('details'),
    });
    const demux = info.Config.Tty
      ? undefined
      : new StreamDemuxer((stream, payload) =>
          (stream === 1 ? cli.stdout : cli.stderr).write(payload),
        );
    await new Promise<void>((resolve, reject) => {
      res.on('data', (c: Buffer) => (demux ? demux.push(c) : cli.stdout.write(c)));
      res.on('end', resolve);
      res.on('error', reject);
    });
    return 0;
  },
};
