import { filtersFromArgs } from '../../../client/engine-client.js';
import { FILTER_FLAG, FORMAT_FLAG, type CommandSpec } from '../../command.js';
import { renderList } from '../../format/formatter.js';
import { PS_DEFAULT_TABLE, PS_HEADERS, psContext } from './ps-context.js';

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'List containers',
  aliases: ['wharf container ls', 'wharf container list', 'wharf container ps', 'wharf ps'],
  flags: [
    {
      name: 'all',
      short: 'a',
      type: 'bool',
      help: 'Show all containers (default shows just running)',
    },
    FILTER_FLAG,
    FORMAT_FLAG,
    {
      name: 'last',
      short: 'n',
      type: 'int',
      help: 'Show n last created containers (includes all states)',
      default: -1,
    },
    {
      name: 'latest',
      short: 'l',
      type: 'bool',
      help: 'Show the latest created container (includes all states)',
    },
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only display container IDs' },
    { name: 'size', short: 's', type: 'bool', help: 'Display total file sizes' },
  ],
  args: { max: 0 },
  async run(cli, f) {
    let format = f.str('format') || cli.env.WHARF_PS_FORMAT || '';
    const quiet = f.bool('quiet');
    if (quiet && (format === '' || format === 'table')) format = '{{.ID}}';
    const wantSize = f.bool('size') || /\{\{[^}]*\.Size\b/.test(format);
    let limit = f.int('last');
    if (f.bool('latest')) limit = 1;
    const client = await cli.client();
    const list = await client.containerList({
      all: f.bool('all'),
      limit: limit > 0 ? limit : undefined,
      size: wantSize,
      filters: filtersFromArgs(f.list('filter')),
    });
    const now = Date.now();
    const items = list.map((c) => psContext(c, { trunc: !f.bool('no-trunc'), now }));
    const table = f.bool('size') ? `${PS_DEFAULT_TABLE}\t{{.Size}}` : PS_DEFAULT_TABLE;
    cli.stdout.write(
      renderList(format, table, items, PS_HEADERS, {
        parse: 'failed to parse template: ',
        parseStatus: 1,
        execute: 'failed to execute template: ',
      }),
    );
    return 0;
  },
};
