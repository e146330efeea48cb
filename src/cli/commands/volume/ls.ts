import { filtersFromArgs } from '../../../client/engine-client.js';
import { FILTER_FLAG, FORMAT_FLAG, type CommandSpec } from '../../command.js';
import { renderList } from '../../format/formatter.js';
import { naturalLess, VOLUME_HEADERS, VOLUME_TABLE, volumeContext } from './volume-context.js';

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'List volumes',
  aliases: ['wharf volume ls', 'wharf volume list'],
  flags: [
    {
      name: 'cluster',
      type: 'bool',
      help: 'Display only cluster volumes, and use cluster volume list formatting',
      hidden: true,
    },
    FILTER_FLAG,
    FORMAT_FLAG,
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only display volume names' },
  ],
  args: { max: 0 },
  async run(cli, f) {
    const client = await cli.client();
    const res = await client.volumeList({ filters: filtersFromArgs(f.list('filter')) });
    const vols = [...(res.Volumes ?? [])].sort((a, b) => naturalLess(a.Name, b.Name));
    let format = f.str('format') || cli.env.WHARF_VOLUMES_FORMAT || '';
    if (f.bool('quiet')) format = '{{.Name}}';
    cli.stdout.write(renderList(format, VOLUME_TABLE, vols.map(volumeContext), VOLUME_HEADERS));
    for (const w of res.Warnings ?? []) cli.stderr.write(`${w}\n`);
    return 0;
  },
};
