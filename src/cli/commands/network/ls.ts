import { filtersFromArgs } from '../../../client/engine-client.js';
import { FILTER_FLAG, FORMAT_FLAG, type CommandSpec } from '../../command.js';
import { renderList } from '../../format/formatter.js';
import { NETWORK_HEADERS, NETWORK_TABLE, networkContext } from './network-context.js';

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'List networks',
  aliases: ['wharf network ls', 'wharf network list'],
  flags: [
    FILTER_FLAG,
    FORMAT_FLAG,
    { name: 'no-trunc', type: 'bool', help: 'Do not truncate the output' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only display network IDs' },
  ],
  args: { max: 0 },
  async run(cli, f) {
    const client = await cli.client();
    const nets = await client.networkList({ filters: filtersFromArgs(f.list('filter')) });
    nets.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    let format = f.str('format') || '';
    if (f.bool('quiet')) format = '{{.ID}}';
    const rows = nets.map((n) => networkContext(n, f.bool('no-trunc')));
    cli.stdout.write(renderList(format, NETWORK_TABLE, rows, NETWORK_HEADERS));
    return 0;
  },
};
