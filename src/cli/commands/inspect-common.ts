/** docker inspect's output: a JSON array (4-space indent), or the template once per object. */
import { ApiError } from '../../client/errors.js';
import type { Cli } from '../command.js';
import { describeErrorText } from '../errors.js';
import { TemplateError } from '../format/template-parse.js';
import { compileFormat, goMarshal } from '../format/formatter.js';

export type Getter = (name: string) => Promise<unknown>;

export async function inspectEach(
  cli: Cli,
  names: readonly string[],
  get: Getter,
  format: string,
  /** The generic `inspect` says "Error: No such object: x"; typed ones show the daemon's error. */
  generic = false,
): Promise<number> {
  // docker: a syntax error exits 64 before any request.
  // "json": the array on one line (docker's json.Marshal of the list).
  const tmpl =
    format && format !== 'json'
      ? compileFormat(format, {
          parse: 'template parsing error: ',
          parseStatus: 64,
          execute: 'template parsing error: ',
        }).withMissingKeyError(goZeroValue)
      : undefined;
  const found: unknown[] = [];
  const errors: string[] = [];
  let out = '';
  for (const name of names) {
    let obj: unknown;
    try {
      obj = await get(name);
    } catch (err) {
      errors.push(
        generic && err instanceof ApiError && err.statusCode === 404
          ? `Error: ${err.message}`
          : describeErrorText(err),
      );
      continue;
    }
    found.push(obj);
    if (!tmpl) continue;
    mountPointZeroes(obj);
    // docker runs the template on its typed structs, then on the raw JSON with
    // missingkey=error: either way an unknown key is an error, reported after the output.
    try {
      out += `${tmpl.execute(obj)}\n`;
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      errors.push(`template parsing error: ${err.message}`);
    }
  }
  if (tmpl) cli.stdout.write(out === '' ? '\n' : out);
  else if (format === 'json') cli.stdout.write(`${goMarshal(found)}\n`);
  else cli.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
  if (errors.length > 0) {
    cli.stderr.write(`${errors.join('\n')}\n`);
    return 1;
  }
  return 0;
}

/**
 * Fields of docker's inspect structs that the JSON omits when empty (`omitempty`): docker's
 * templates see their Go zero values. Paths are matched without the leading object, so
 * "Config.Healthcheck" serves containers and images.
 */
const OMITTED: Record<string, unknown> = {
  'State.Health': null,
  'Config.Healthcheck': null,
  'Config.ExposedPorts': {},
  'Config.StopSignal': '',
  'Config.StopTimeout': null,
  'Config.Shell': [],
  'Config.ArgsEscaped': false,
  'Config.MacAddress': '',
  'Config.NetworkDisabled': false,
  'Config.OnBuild': [],
  SizeRw: null,
  SizeRootFs: null,
  Node: null,
  Parent: '',
  Comment: '',
  Container: '',
  ContainerConfig: null,
  DockerVersion: '',
  Author: '',
  Variant: '',
  OsVersion: '',
  Descriptor: null,
  Manifests: [],
  'HostConfig.Annotations': {},
  'HostConfig.ConsoleSize': [0, 0],
};

/** Slices of docker's inspect structs: null in the JSON, `[]` when Go prints them. */
const NIL_SLICES = new Set([
  'Args',
  'Config.Cmd',
  'Config.Entrypoint',
  'Config.Env',
  'Config.OnBuild',
  'Config.Shell',
  'HostConfig.Binds',
  'HostConfig.CapAdd',
  'HostConfig.CapDrop',
  'HostConfig.Dns',
  'HostConfig.DnsOptions',
  'HostConfig.DnsSearch',
  'HostConfig.ExtraHosts',
  'HostConfig.GroupAdd',
  'HostConfig.Links',
  'HostConfig.SecurityOpt',
  'HostConfig.VolumesFrom',
  'HostConfig.Devices',
  'HostConfig.Tmpfs',
  'Mounts',
  'RepoTags',
  'RepoDigests',
]);

function goZeroValue(path: string, present: boolean): { value: unknown } | undefined {
  if (present) return NIL_SLICES.has(path) ? { value: [] } : undefined;
  return path in OMITTED ? { value: OMITTED[path] } : undefined;
}

export const INSPECT_FORMAT_FLAG = {
  name: 'format',
  short: 'f',
  type: 'string',
  help: "Format output using a custom template:\n'json': Print in JSON format\n'TEMPLATE': Print output using the given Go template",
} as const;

/**
 * A container's MountPoints omit Name and Driver (binds, tmpfs) in the JSON; docker's typed
 * struct still has them for `{{range .Mounts}}{{.Name}}{{end}}`. Added non-enumerable, so
 * `{{json .}}` keeps the wire shape.
 */
function mountPointZeroes(obj: unknown): void {
  const mounts = (obj as { Mounts?: unknown } | null)?.Mounts;
  if (!Array.isArray(mounts)) return;
  for (const m of mounts) {
    if (typeof m !== 'object' || m === null) continue;
    for (const key of ['Name', 'Driver']) {
      if (!(key in m)) Object.defineProperty(m, key, { value: '', enumerable: false });
    }
  }
}
