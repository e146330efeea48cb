/**
 * docker's --format handling for lists: '' or 'table' → the command's default table,
 * 'json' → one `{{json .}}` line per item, 'table TEMPLATE' → header + rows through the
 * tabwriter, anything else → the template once per item, each followed by a newline.
 */
import { STRUCT_NAME } from './go-print.js';
import { tabwrite } from './tabwriter.js';
import { HEADER_FUNCS, Template } from './template.js';

export const JSON_FORMAT = 'json';

export function isTableFormat(format: string): boolean {
  return format.startsWith('table');
}

/** The format a user wrote, with docker's `\t` / `\n` escapes and `table`/`json` keywords. */
export function resolveFormat(
  format: string,
  defaultTable: string,
): { table: boolean; source: string } {
  let f = format;
  if (f === '' || f === 'table') f = defaultTable;
  if (f === JSON_FORMAT) return { table: false, source: '{{json .}}' };
  const table = isTableFormat(f);
  if (table) f = f.slice('table'.length);
  f = f
    .replace(/^ +| +$/g, '')
    .replace(/\\t/g, '\t')
    .replace(/\\n/g, '\n');
  return { table, source: f };
}

/**
 * A context object for templates: enumerable string fields (what `{{json .}}` shows) plus
 * non-enumerable methods such as `Label`. It acts as a Go struct: unknown fields are errors.
 */
export function makeContext<T extends object>(
  typeName: string,
  fields: T,
  methods: Record<string, (...args: never[]) => unknown> = {},
): T {
  const obj = { ...fields } as T & Record<string | symbol, unknown>;
  Object.defineProperty(obj, STRUCT_NAME, { value: typeName, enumerable: false });
  for (const [k, fn] of Object.entries(methods)) {
    Object.defineProperty(obj, k, { value: fn, enumerable: false });
  }
  return obj;
}

/**
 * Renders a list. `headers` maps a field to docker's column title ("ID" → "CONTAINER ID");
 * fields without an entry are titled by their upper-cased name.
 */
export function renderList(
  format: string,
  defaultTable: string,
  items: readonly object[],
  headers: Record<string, string>,
): string {
  const { table, source } = resolveFormat(format, defaultTable);
  const tmpl = new Template(source);
  let body = '';
  for (const item of items) body += `${tmpl.execute(item)}\n`;
  if (!table) return body;
  const headerCtx = headerContext(headers);
  const header = tmpl.withFuncs(HEADER_FUNCS).execute(headerCtx);
  return tabwrite(`${header}\n${body}`);
}

function headerContext(headers: Record<string, string>): object {
  return new Proxy(
    {},
    {
      has: () => true,
      get: (_t, prop) => {
        if (typeof prop !== 'string') return undefined;
        const title = headers[prop] ?? prop.toUpperCase();
        if (prop === 'Label' || prop === 'Annotation') return () => title;
        return title;
      },
    },
  );
}

/** Executes a template once per item (inspect -f, version -f). */
export function renderEach(format: string, items: readonly unknown[]): string {
  const source = format === JSON_FORMAT ? '{{json .}}' : format;
  const tmpl = new Template(source);
  return items.map((i) => `${tmpl.execute(i)}\n`).join('');
}
