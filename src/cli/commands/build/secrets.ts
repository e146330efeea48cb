/**
 * `wharf build --secret id=…,src=…|env=…` (buildx's syntax): the values are read here and
 * sent in one request header, X-Wharf-Build-Secrets (base64url JSON of id → base64 value),
 * since the classic build protocol has no secret channel. The daemon keeps them in memory
 * and never stores them.
 */
import { promises as fsp } from 'node:fs';

export const SECRETS_HEADER = 'X-Wharf-Build-Secrets';
const MAX_SECRET = 500 * 1024;

/** One `--secret` value → [id, bytes]. */
export async function readSecret(spec: string, env: NodeJS.ProcessEnv): Promise<[string, Buffer]> {
  const f = new Map<string, string>();
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    if (eq <= 0) throw new Error(`invalid secret "${spec}": expected key=value fields`);
    const key = field.slice(0, eq).toLowerCase();
    if (!['id', 'src', 'source', 'env', 'type'].includes(key))
      throw new Error(`unexpected key '${key}' in '${field}'`);
    f.set(key, field.slice(eq + 1));
  }
  const id = f.get('id') ?? '';
  const type = f.get('type') ?? (f.has('env') ? 'env' : 'file');
  if (type !== 'file' && type !== 'env') throw new Error(`unsupported secret type "${type}"`);
  const src = f.get('src') ?? f.get('source');
  let name = f.get('env');
  if (type === 'env' && name === undefined) name = src;
  if (id === '' && !src && !name) throw new Error(`invalid secret "${spec}": id is required`);
  const key = id || (src ?? name)!;
  let value: Buffer;
  if (type === 'env' || (src === undefined && env[key] !== undefined)) {
    const v = env[name ?? key];
    if (v === undefined)
      throw new Error(`secret ${key}: environment variable ${name ?? key} not set`);
    value = Buffer.from(v);
  } else {
    const file = src ?? key;
    try {
      value = await fsp.readFile(file);
    } catch (err) {
      throw new Error(`failed to read secret ${key}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (value.length > MAX_SECRET) throw new Error(`secret ${key} too big. max size 500KB`);
  return [key, value];
}

/** The header for a build's `--secret` flags, or undefined without any. */
export async function secretsHeader(
  specs: string[],
  env: NodeJS.ProcessEnv,
): Promise<Record<string, string> | undefined> {
  if (specs.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const spec of specs) {
    const [id, value] = await readSecret(spec, env);
    out[id] = value.toString('base64');
  }
  return { [SECRETS_HEADER]: Buffer.from(JSON.stringify(out)).toString('base64url') };
}
