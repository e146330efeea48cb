import type { EventMessage } from '../../../api-types/index.js';
import { filtersFromArgs } from '../../../client/engine-client.js';
import { FILTER_FLAG, FORMAT_FLAG, type CommandSpec } from '../../command.js';
import {
  compileFormat,
  executeFormat,
  makeContext,
  type TemplateErrorStyle,
} from '../../format/formatter.js';

/** docker's events.Message: a Go struct, whose omitted fields read as empty. */
function eventContext(e: EventMessage): object {
  // The Go fields Status, ID, From, Scope, Time, TimeNano are "status", "id"... in JSON.
  const raw = e as unknown as Record<string, unknown>;
  const zero: Record<string, () => unknown> = {};
  for (const [field, json, none] of [
    ['Status', 'status', ''],
    ['ID', 'id', ''],
    ['From', 'from', ''],
    ['Scope', 'scope', ''],
    ['Time', 'time', 0],
    ['TimeNano', 'timeNano', 0],
    ['Type', 'Type', ''],
    ['Action', 'Action', ''],
  ] as const) {
    if (!(field in raw)) zero[field] = () => raw[json] ?? none;
  }
  if (!('Actor' in e)) zero['Actor'] = () => ({ ID: '', Attributes: {} });
  // Attributes is a Go map: encoding/json writes its keys sorted.
  const attrs = e.Actor?.Attributes;
  const sorted = attrs && {
    ...e,
    Actor: {
      ...e.Actor,
      Attributes: Object.fromEntries(
        Object.keys(attrs)
          .sort()
          .map((k) => [k, attrs[k]]),
      ),
    },
  };
  return makeContext('*events.Message', sorted || e, zero);
}

const EVENTS_ERRORS: TemplateErrorStyle = {
  parse: 'Error parsing format: ',
  parseStatus: 64,
  execute: 'Error parsing format: ',
  executeStatus: 64,
};
import { getTimestamp, rfc3339NanoFixed } from '../../units.js';

/** docker's default event line: time type action id (attr=value, ...). */
export function formatEvent(e: EventMessage): string {
  // timeNano is past 2^53: JSON.parse rounded it, and its shortest decimal form is the
  // daemon's digits again (BigInt of the double itself would show the rounding).
  const nano = e.timeNano ? BigInt(String(e.timeNano)) : BigInt(e.time ?? 0) * 1_000_000_000n;
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
    const tmpl = format
      ? compileFormat(format === 'json' ? '{{json .}}' : format, EVENTS_ERRORS)
      : undefined;
    // docker validates the format on an empty message before it asks for events.
    if (tmpl) executeFormat(tmpl, eventContext({} as EventMessage), EVENTS_ERRORS);
    await client.events(
      {
        since: f.str('since') ? getTimestamp(f.str('since')) : undefined,
        until: f.str('until') ? getTimestamp(f.str('until')) : undefined,
        filters: filtersFromArgs(f.list('filter')),
      },
      (e) => {
        const ctx = tmpl && eventContext(e);
        cli.stdout.write(ctx ? `${executeFormat(tmpl, ctx, EVENTS_ERRORS)}\n` : formatEvent(e));
      },
    );
    return 0;
  },
};
