/**
 * `--mount` values → HostConfig.Mounts entries, as docker's opts.MountOpt parses them:
 * a CSV list of key=value fields; type defaults to volume; errors in docker's words.
 */
import type { Mount } from '../api-types/index.js';
import { ramInBytes } from './units.js';

/** One CSV record (encoding/csv): fields split on commas, double quotes group and escape. */
export function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur === '') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (quoted)
    throw new Error(
      `parse error on line 1, column ${line.length + 1}: extraneous or missing " in quoted-field`,
    );
  out.push(cur);
  return out;
}

/** Go's strconv.ParseBool. */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

function setOnMap(map: Record<string, string>, kv: string): void {
  const i = kv.indexOf('=');
  if (i < 0) map[kv] = '';
  else map[kv.slice(0, i)] = kv.slice(i + 1);
}

/** Parse one `--mount` value; throws Error with docker's message (the caller adds the flag). */
export function parseMountOpt(value: string): Mount {
  const m: Mount = { Type: 'volume' };
  const vol = (): NonNullable<Mount['VolumeOptions']> => (m.VolumeOptions ??= {});
  const driver = (): { Name?: string; Options?: Record<string, string> | null } =>
    (vol().DriverConfig ??= {});
  const bind = (): NonNullable<Mount['BindOptions']> => (m.BindOptions ??= {});
  const tmpfs = (): NonNullable<Mount['TmpfsOptions']> => (m.TmpfsOptions ??= {});
  const bool = (key: string, val: string): boolean => {
    const b = parseBool(val);
    if (b === undefined) throw new Error(`invalid value for ${key}: ${val}`);
    return b;
  };
  for (const field of csvFields(value)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const val = eq < 0 ? '' : field.slice(eq + 1);
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') m.ReadOnly = true;
      else if (key === 'volume-nocopy') vol().NoCopy = true;
      else if (key === 'bind-nonrecursive') bind().NonRecursive = true;
      else throw new Error(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    switch (key) {
      case 'type':
        m.Type = val.toLowerCase() as Mount['Type'];
        break;
      case 'source':
      case 'src':
        m.Source = val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.Target = val;
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = bool(key, val);
        break;
      case 'consistency':
        m.Consistency = val.toLowerCase();
        break;
      case 'bind-propagation':
        bind().Propagation = val.toLowerCase() as NonNullable<Mount['BindOptions']>['Propagation'];
        break;
      case 'bind-nonrecursive':
        bind().NonRecursive = bool(key, val);
        break;
      case 'bind-create-src':
        bind().CreateMountpoint = bool(key, val);
        break;
      case 'volume-driver':
        driver().Name = val;
        break;
      case 'volume-subpath':
        vol().Subpath = val;
        break;
      case 'volume-nocopy':
        vol().NoCopy = bool(key, val);
        break;
      case 'volume-label':
        setOnMap((vol().Labels ??= {}), val);
        break;
      case 'volume-opt':
        setOnMap((driver().Options ??= {}), val);
        break;
      case 'tmpfs-size': {
        try {
          tmpfs().SizeBytes = ramInBytes(val);
        } catch {
          throw new Error(`invalid value for ${key}: ${val}`);
        }
        break;
      }
      case 'tmpfs-mode': {
        if (!/^[0-7]+$/.test(val) || parseInt(val, 8) > 0xffffffff)
          throw new Error(`invalid value for ${key}: ${val}`);
        tmpfs().Mode = parseInt(val, 8);
        break;
      }
      default:
        throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (!m.Type) throw new Error('type is required');
  if (!m.Target) throw new Error('target is required');
  if (m.VolumeOptions && m.Type !== 'volume')
    throw new Error(`cannot mix 'volume-*' options with mount type '${m.Type}'`);
  if (m.BindOptions && m.Type !== 'bind')
    throw new Error(`cannot mix 'bind-*' options with mount type '${m.Type}'`);
  if (m.TmpfsOptions && m.Type !== 'tmpfs')
    throw new Error(`cannot mix 'tmpfs-*' options with mount type '${m.Type}'`);
  return m;
}
