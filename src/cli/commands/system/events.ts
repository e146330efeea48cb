import type { EventMessage } from '../../../api-types/index.js';
import { filtersFromArgs } from '../../../client/engine-client.js';
import { FILTER_FLAG, FORMAT_FLAG, type CommandSpec } from '../../command.js';
import { Template } from '../../format/template.js';
import { getTimestamp, rfc3339NanoFixed } from '../../units.js';

/** docker's default event line: time type action id (attr=value, ...). */
export function formatEvent(e: EventMessage): string {
  const nano = e.timeNano ? BigInt(e.timeNano) : BigInt(e.time ?? 0) * 1_000_000_000n;
  const attrs = e.Actor?.Attributes ?? {};
  const keys = Object.keys(attrs).sort();
  const attrText = keys.length > 0 ? ` (${keys.map((k) => `${k}=${attrs[k]}`).join(', ')})` : '';
  return `${rfc3339NanoFixed(nano)} ${e.Type} ${e.Action} ${e.Actor?.ID ?? ''}${attrText}\n`;
}

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Get real time events from the server',
  aliases: ['wharf system events', 'wharf events'],
  flags: [
    FILTER_FLAG,
    FORMAT_FLAG,
    { name: 'since', type: 'string', help: 'Show all events created since timestamp' },
    { name: 'until', type: 'string', help: 'Stream events until this timestamp' },
  ],
  args: { max: 0 },
  async run(cli, f) {
    const client = await cli.client();
    const format = f.str('format');
    const tmpl = format ? new Template(format === 'json' ? '{{json .}}' : format) : undefined;
    await client.events(
      {
        since: f.str('since') ? getTimestamp(f.str('since')) : undefined,
        until: f.str('until') ? getTimestamp(f.str('until')) : undefined,
        filters: filtersFromArgs(f.list('filter')),
      },
      (e) => {
        cli.stdout.write(tmpl ? `${tmpl.execute(e)}\n` : formatEvent(e));
      },
    );
    return 0;
  },
};
