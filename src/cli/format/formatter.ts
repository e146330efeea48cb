/**
 * docker's --format handling for lists: '' or 'table' → the command's default table,
 * 'json' → one `{{json .}}` line per item, 'table TEMPLATE' → header + rows through the
 * tabwriter, anything else → the template once per item, each followed by a newline.
 */
import { StatusError } from '../command.js';
import { STRUCT_NAME } from './go-print.js';
import { TemplateError } from './template-parse.js';
import { tabwrite } from './tabwriter.js';
import { HEADER_FUNCS, Template } from './template.js';

/**
 * How a command reports template errors: docker words them differently per command, and
 * exits 64 on a syntax error in some (inspect, info, version, events) and 1 in others.
 */
export interface TemplateErrorStyle {
  parse: string;
  parseStatus: number;
  execute: string;
  executeStatus?: number;
  /** The template's name in messages ("version": `template: version:1:2: executing "version"`). */
  name?: string;
}

function styled(prefix: string, err: TemplateError, style: TemplateErrorStyle): string {
  let msg = err.message;
  if (style.name) {
    msg = msg
      .replace(/^template: :/, `template: ${style.name}:`)
      .replace('executing ""', `executing "${style.name}"`);
  }
  return `${prefix}${msg}`;
}

/** docker's formatter.Context (images, history). */
export const FORMATTER_ERRORS: TemplateErrorStyle = {
  parse: 'template parsing error: ',
  parseStatus: 1,
  execute: 'template parsing error: ',
};

/** A --format template; its errors end the command as `style` says. */
export function compileFormat(source: string, style: TemplateErrorStyle): Template {
  try {
    return new Template(source);
  } catch (err) {
    if (err instanceof TemplateError) {
      throw new StatusError(style.parseStatus, styled(style.parse, err, style), true);
    }
    throw err;
  }
}

/** Executes a template; an execution error ends the command with status 1. */
export function executeFormat(tmpl: Template, data: unknown, style: TemplateErrorStyle): string {
  try {
    return tmpl.execute(data);
  } catch (err) {
    if (err instanceof TemplateError) {
      throw new StatusError(style.executeStatus ?? 1, styled(style.execute, err, style), true);
    }
    throw err;
  }
}

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
  errors: TemplateErrorStyle = FORMATTER_ERRORS,
): string {
  // docker marshals `--format json` with encoding/json, which escapes <, > and & (unlike
  // the template's json function).
  if (format === JSON_FORMAT) return items.map((i) => `${goMarshal(i)}\n`).join('');
  const { table, source } = resolveFormat(format, defaultTable);
  const tmpl = compileFormat(source, errors);
  let body = '';
  for (const item of items) body += `${executeFormat(tmpl, item, errors)}\n`;
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
        // docker titles `.Label "com.example.tier"` by the key's last dotted part: "tier".
        if (prop === 'Label') return (key: string) => key.split('.').pop();
        if (prop === 'Annotation') return () => title;
        return title;
      },
    },
  );
}

/** Go's json.Marshal: like JSON.stringify, with HTML characters escaped. */
export function goMarshal(v: unknown): string {
  return JSON.stringify(v).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Writes a template's output per item (version -f, info -f); as docker, the newline after
 * an item is written even when its template fails.
 */
export function writeEach(
  out: NodeJS.WritableStream,
  format: string,
  items: readonly unknown[],
  errors: TemplateErrorStyle,
): void {
  const tmpl = compileFormat(format === JSON_FORMAT ? '{{json .}}' : format, errors);
  for (const item of items) {
    try {
      out.write(`${executeFormat(tmpl, item, errors)}\n`);
    } catch (err) {
      out.write('\n');
      throw err;
    }
  }
}
