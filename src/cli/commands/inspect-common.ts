/** docker inspect's output: a JSON array (4-space indent), or the template once per object. */
import { ApiError } from '../../client/errors.js';
import type { Cli } from '../command.js';
import { describeErrorText } from '../errors.js';
import { renderEach } from '../format/formatter.js';

export type Getter = (name: string) => Promise<unknown>;

export async function inspectEach(
  cli: Cli,
  names: readonly string[],
  get: Getter,
  format: string,
  /** The generic `inspect` says "Error: No such object: x"; typed ones show the daemon's error. */
  generic = false,
): Promise<number> {
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const name of names) {
    try {
      found.push(await get(name));
    } catch (err) {
      errors.push(
        generic && err instanceof ApiError && err.statusCode === 404
          ? `Error: ${err.message}`
          : describeErrorText(err),
      );
    }
  }
  if (format) cli.stdout.write(renderEach(format, found));
  else cli.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
  if (errors.length > 0) {
    cli.stderr.write(`${errors.join('\n')}\n`);
    return 1;
  }
  return 0;
}

export const INSPECT_FORMAT_FLAG = {
  name: 'format',
  short: 'f',
  type: 'string',
  help: "Format output using a custom template:\n'json': Print in JSON format\n'TEMPLATE': Print output using the given Go template",
} as const;
