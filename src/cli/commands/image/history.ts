import { FORMAT_FLAG, type CommandSpec } from '../../command.js';
import { makeContext, renderList } from '../../format/formatter.js';
import { goTimeString, humanSize, timeAgo } from '../../units.js';
import { ellipsis, truncateId } from '../container/ps-context.js';

const HEADERS: Record<string, string> = {
  ID: 'IMAGE',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  CreatedBy: 'CREATED BY',
  Size: 'SIZE',
  Comment: 'COMMENT',
};
const TABLE = 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
const NON_HUMAN_TABLE = 'table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';

export const command: CommandSpec = {
  usage: '[OPTIONS] IMAGE',
  description: 'Show the history of an image',
  aliases: ['wharf image history', 'wharf history'],
  flags: [
    FORMAT_FLAG,
    {
      name: 'human',
      short: 'H',
      type: 'bool',
      help: 'Print sizes and dates in human readable format',
      default: true,
    },
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only show image IDs' },
  ],
  args: { min: 1, max: 1 },
  async run(cli, f, args) {
    const client = await cli.client();
    const history = await client.imageHistory(args[0] as string);
    const trunc = !f.bool('no-trunc');
    const human = f.bool('human');
    const now = Date.now();
    const items = history.map((h) => {
      const createdBy = h.CreatedBy.replace(/\t/g, ' ');
      return makeContext('*image.historyContext', {
        ID: h.Id === '<missing>' ? '<missing>' : trunc ? truncateId(h.Id) : h.Id,
        CreatedSince: human
          ? h.Created > 0
            ? timeAgo(h.Created, now)
            : 'N/A'
          : new Date(h.Created * 1000).toISOString().replace('.000Z', 'Z'),
        CreatedAt: human
          ? goTimeString(h.Created)
          : new Date(h.Created * 1000).toISOString().replace('.000Z', 'Z'),
        CreatedBy: trunc ? ellipsis(createdBy, 45) : createdBy,
        Size: human ? humanSize(h.Size) : String(h.Size),
        Comment: h.Comment,
        Tags: (h.Tags ?? []).join(', '),
      });
    });
    let format = f.str('format');
    if (f.bool('quiet') && (format === '' || format === 'table')) format = '{{.ID}}';
    cli.stdout.write(renderList(format, human ? TABLE : NON_HUMAN_TABLE, items, HEADERS));
    return 0;
  },
};
