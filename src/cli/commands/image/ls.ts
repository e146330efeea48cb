import { filtersFromArgs } from '../../../client/engine-client.js';
import { FILTER_FLAG, FORMAT_FLAG, type CommandSpec } from '../../command.js';
import { renderList } from '../../format/formatter.js';
import {
  IMAGES_HEADERS,
  IMAGES_TABLE,
  IMAGES_TABLE_DIGESTS,
  imageContexts,
} from './images-context.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  description: 'List images',
  aliases: ['wharf image ls', 'wharf image list', 'wharf images'],
  flags: [
    {
      name: 'all',
      short: 'a',
      type: 'bool',
      help: 'Show all images (default hides intermediate images)',
    },
    { name: 'digests', type: 'bool', help: 'Show digests' },
    FILTER_FLAG,
    FORMAT_FLAG,
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only show image IDs' },
  ],
  args: { max: 1 },
  async run(cli, f, args) {
    const filters = [...f.list('filter')];
    if (args[0]) filters.push(`reference=${args[0]}`);
    const client = await cli.client();
    const list = await client.imageList({ all: f.bool('all'), filters: filtersFromArgs(filters) });
    let format = f.str('format') || cli.env.WHARF_IMAGES_FORMAT || '';
    if (f.bool('quiet') && (format === '' || format === 'table')) format = '{{.ID}}';
    const now = Date.now();
    const trunc = !f.bool('no-trunc');
    const items = list.flatMap((img) =>
      imageContexts(img, { trunc, digests: f.bool('digests'), now }),
    );
    const out = renderList(
      format,
      f.bool('digests') ? IMAGES_TABLE_DIGESTS : IMAGES_TABLE,
      items,
      IMAGES_HEADERS,
    );
    // docker prints an image once per tag, even with -q.
    cli.stdout.write(out);
    return 0;
  },
};
