/**
 * `docker import --change` / `docker commit --change`: Dockerfile instructions applied to an
 * image config (docker's dockerfile.BuildFromConfig, limited to the instructions it allows).
 */
import path from 'node:path';

import { invalidArgument } from '../common/index.js';
import type { ImageConfigConfig } from '../oci/index.js';

const ALLOWED = new Set([
  'CMD',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'LABEL',
  'ONBUILD',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
]);
const KNOWN = new Set([
  ...ALLOWED,
  'ADD',
  'ARG',
  'COPY',
  'FROM',
  'HEALTHCHECK',
  'MAINTAINER',
  'RUN',
  'SHELL',
]);

/** Split on unquoted whitespace, keeping quotes and escapes in the words (parseWords). */
export function splitWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote === '' && /\s/.test(c)) {
      if (cur !== '') words.push(cur);
      cur = '';
      continue;
    }
    if (c === '\\' && quote !== "'" && i + 1 < s.length) {
      cur += c + s[++i]!;
      continue;
    }
    if (quote === '' && (c === '"' || c === "'")) quote = c;
    else if (c === quote) quote = '';
    cur += c;
  }
  if (quote !== '')
    throw invalidArgument(`unexpected end of statement while looking for matching ${quote}`);
  if (cur !== '') words.push(cur);
  return words;
}

/** Remove quotes and escapes, expanding $VAR / ${VAR} / ${VAR:-x} / ${VAR:+x} from env. */
export function processWord(word: string, env: string[]): string {
  const lookup = (name: string): string | undefined => {
    for (let i = env.length - 1; i >= 0; i--) {
      const e = env[i]!;
      if (e.startsWith(`${name}=`)) return e.slice(name.length + 1);
    }
    return undefined;
  };
  let out = '';
  let quote = '';
  for (let i = 0; i < word.length; i++) {
    const c = word[i]!;
    if (quote !== "'" && c === '\\' && i + 1 < word.length) {
      out += word[++i]!;
    } else if (quote === '' && (c === '"' || c === "'")) quote = c;
    else if (c === quote) quote = '';
    else if (c === '$' && quote !== "'") {
      const m =
        /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/.exec(
          word.slice(i),
        );
      if (!m) {
        out += c;
        continue;
      }
      const v = lookup(m[1] ?? m[4]!);
      if (m[2] === '-') out += v ? v : processWord(m[3]!, env);
      else if (m[2] === '+') out += v ? processWord(m[3]!, env) : '';
      else out += v ?? '';
      i += m[0].length - 1;
    } else out += c;
  }
  return out;
}

function parseJsonArray(rest: string): string[] | undefined {
  if (!rest.trimStart().startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(rest);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    /* not JSON: shell form */
  }
  return undefined;
}

/** `k=v k2="v 2"` or the legacy `k v with spaces`; values processed against env. */
function nameValues(cmd: string, rest: string, env: string[]): Array<[string, string]> {
  const words = splitWords(rest);
  if (words.length === 0) throw invalidArgument(`${cmd} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(rest.trim());
    if (!m) throw invalidArgument(`${cmd} must have two arguments`);
    return [[m[1]!, processWord(m[2]!.trim(), env)]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw invalidArgument(`${cmd} names can not be blank`);
    return [processWord(w.slice(0, eq), env), processWord(w.slice(eq + 1), env)];
  });
}

function expandPorts(spec: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!m) throw invalidArgument(`invalid containerPort: ${spec}`);
  const lo = Number(m[1]);
  const hi = m[2] !== undefined ? Number(m[2]) : lo;
  if (lo < 1 || hi > 65535 || hi < lo) throw invalidArgument(`invalid range: ${spec}`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  const out: string[] = [];
  for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  return out;
}

const SIGNAL_RE = /^(?:SIG)?(?:[A-Z]+[0-9]*|RTMIN\+\d+|RTMAX-\d+)$|^\d+$/;

/** Apply change lines to a copy of `base`. Throws invalidArgument with docker's wording. */
export function applyChanges(
  base: ImageConfigConfig,
  changes: readonly string[],
): ImageConfigConfig {
  const c: ImageConfigConfig = structuredClone(base);
  let cmdSet = false;
  for (const line of changes) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(trimmed)!;
    const cmd = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (!KNOWN.has(cmd))
      throw invalidArgument(`dockerfile parse error line 1: unknown instruction: ${m[1]}`);
    if (!ALLOWED.has(cmd))
      throw invalidArgument(`${cmd.toLowerCase()} is not a valid change command`);
    const env = c.Env ?? [];
    const words = (): string[] => splitWords(rest).map((w) => processWord(w, env));
    switch (cmd) {
      case 'CMD':
      case 'ENTRYPOINT': {
        const argv = parseJsonArray(rest) ?? (rest === '' ? [] : ['/bin/sh', '-c', rest]);
        if (cmd === 'CMD') {
          c.Cmd = argv;
          cmdSet = true;
        } else {
          c.Entrypoint = argv.length === 0 ? null : argv;
          if (!cmdSet) c.Cmd = null;
        }
        break;
      }
      case 'ENV':
        for (const [k, v] of nameValues(cmd, rest, env)) {
          // Replace in place, as docker does, so the order of Env stays stable.
          const next = [...(c.Env ?? [])];
          const i = next.findIndex((e) => e.startsWith(`${k}=`));
          if (i === -1) next.push(`${k}=${v}`);
          else next[i] = `${k}=${v}`;
          c.Env = next;
        }
        break;
      case 'LABEL':
        c.Labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of nameValues(cmd, rest, env)) c.Labels[k] = v;
        break;
      case 'EXPOSE':
        if (rest === '') throw invalidArgument('EXPOSE requires at least one argument');
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const w of words()) for (const p of expandPorts(w)) c.ExposedPorts[p] = {};
        break;
      case 'VOLUME': {
        const vols = parseJsonArray(rest) ?? words();
        if (vols.length === 0) throw invalidArgument('VOLUME requires at least one argument');
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of vols) {
          if (v.trim() === '') throw invalidArgument('VOLUME specified can not be an empty string');
          c.Volumes[v.trim()] = {};
        }
        break;
      }
      case 'USER':
        if (rest === '') throw invalidArgument('USER requires exactly one argument');
        c.User = processWord(rest, env);
        break;
      case 'WORKDIR': {
        if (rest === '') throw invalidArgument('WORKDIR requires exactly one argument');
        const dir = processWord(rest, env);
        c.WorkingDir = path.posix.resolve('/', c.WorkingDir || '/', dir);
        break;
      }
      case 'STOPSIGNAL': {
        const sig = processWord(rest, env);
        if (!SIGNAL_RE.test(sig)) throw invalidArgument(`Invalid signal: ${sig}`);
        c.StopSignal = sig;
        break;
      }
      case 'ONBUILD': {
        const trigger = (/^\S+/.exec(rest)?.[0] ?? '').toUpperCase();
        if (trigger === '') throw invalidArgument('ONBUILD requires at least one argument');
        if (trigger === 'ONBUILD')
          throw invalidArgument("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (trigger === 'FROM' || trigger === 'MAINTAINER') {
          throw invalidArgument(`${trigger} isn't allowed as an ONBUILD trigger`);
        }
        c.OnBuild = [...(c.OnBuild ?? []), rest];
        break;
      }
    }
  }
  return c;
}
