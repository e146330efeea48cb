/**
 * Instructions that only change the image config (ENV LABEL CMD ENTRYPOINT EXPOSE VOLUME
 * USER STOPSIGNAL SHELL HEALTHCHECK ONBUILD MAINTAINER), applied as Docker's classic builder
 * applies them, with the history line it writes (`/bin/sh -c #(nop)  CMD ["sh"]`).
 */
import path from 'node:path';

import { invalidArgument } from '../common/index.js';
import type { ImageConfig, ImageConfigConfig } from '../oci/index.js';
import type { Instruction } from './dockerfile/index.js';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A stage's config as the steps change it. */
export interface StageConfig {
  image: ImageConfig;
  /** CMD was set in this stage (an ENTRYPOINT then keeps it). */
  cmdSet: boolean;
}

/** Go's %v of a []string: `[a b]`. */
export function goList(list: readonly string[]): string {
  return `[${list.join(' ')}]`;
}

/** Go's %q of an int, as a rune: `'A'`, `'\x04'` (how Docker prints HEALTHCHECK retries). */
export function goQuoteRune(n: number): string {
  const special: Record<number, string> = {
    7: '\\a',
    8: '\\b',
    9: '\\t',
    10: '\\n',
    11: '\\v',
    12: '\\f',
    13: '\\r',
    39: "\\'",
    92: '\\\\',
  };
  if (special[n]) return `'${special[n]}'`;
  if (n < 0x20 || n === 0x7f) return `'\\x${n.toString(16).padStart(2, '0')}'`;
  if (n < 0x7f) return `'${String.fromCharCode(n)}'`;
  if (n < 0xa0) return `'\\u${n.toString(16).padStart(4, '0')}'`;
  return `'${String.fromCodePoint(n)}'`;
}

/** Go's %q of a []string: `["a" "b"]`. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}

export function shellOf(c: ImageConfigConfig): string[] {
  return c.Shell && c.Shell.length > 0 ? c.Shell : DEFAULT_SHELL;
}

/** Set `KEY=value` in an env list, replacing in place (Docker keeps the order). */
export function setEnv(env: string[], key: string, value: string): string[] {
  const out = [...env];
  const i = out.findIndex(
    (e) => e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')) === key,
  );
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

function expandPorts(spec: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/([a-zA-Z]+))?$/.exec(spec);
  if (!m) throw invalidArgument(`Invalid containerPort: ${spec}`);
  const lo = Number(m[1]);
  const hi = m[2] !== undefined ? Number(m[2]) : lo;
  if (hi < lo) throw invalidArgument(`Invalid range specified for the Port: ${spec}`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw invalidArgument(`Invalid proto: ${proto}`);
  const out: string[] = [];
  for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  return out;
}

const SIGNAL_RE = /^(?:SIG)?(?:[A-Z]+[0-9]*|RTMIN\+\d+|RTMAX-\d+)$|^\d+$/;

/** Go's time.Duration String(): `0s`, `1.5s`, `1m30s`, `1h0m0s`, `500ms`. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 0) return `-${goDuration(-ns)}`;
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${ns / 1e3}µs`;
  if (ns < 1e9) return `${ns / 1e6}ms`;
  const h = Math.floor(ns / 3.6e12);
  const m = Math.floor((ns - h * 3.6e12) / 6e10);
  const s = `${(ns - h * 3.6e12 - m * 6e10) / 1e9}s`;
  if (h > 0) return `${h}h${m}m${s}`;
  return m > 0 ? `${m}m${s}` : s;
}

/** Apply one (expanded) config-only instruction; returns the history comment. */
export function applyConfigStep(st: StageConfig, instr: Instruction): string {
  const c = (st.image.config ??= {});
  switch (instr.kind) {
    case 'ENV': {
      let env = c.Env ?? [];
      for (const p of instr.pairs) {
        if (p.key === '') throw invalidArgument('ENV names can not be blank');
        env = setEnv(env, p.key, p.value);
      }
      c.Env = env;
      return `ENV ${instr.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`;
    }
    case 'LABEL': {
      c.Labels = { ...(c.Labels ?? {}) };
      for (const p of instr.pairs) {
        if (p.key === '') throw invalidArgument('LABEL names can not be blank');
        c.Labels[p.key] = p.value;
      }
      return `LABEL ${instr.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`;
    }
    case 'CMD':
    case 'ENTRYPOINT': {
      const argv = instr.command.json ? instr.command.argv : [...shellOf(c), instr.command.text];
      if (instr.kind === 'CMD') {
        c.Cmd = argv;
        st.cmdSet = true;
      } else {
        c.Entrypoint = argv;
        if (!st.cmdSet) c.Cmd = null;
      }
      return `${instr.kind} ${goQuoteList(argv)}`;
    }
    case 'EXPOSE': {
      const ports = instr.ports.flatMap(expandPorts);
      c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
      for (const p of ports) c.ExposedPorts[p] = {};
      // Docker's history keeps the words (ranges unexpanded, in the parser's sorted order).
      return `EXPOSE ${instr.ports.join(' ')}`;
    }
    case 'VOLUME': {
      c.Volumes = { ...(c.Volumes ?? {}) };
      for (const v of instr.paths) {
        if (v.trim() === '') throw invalidArgument('VOLUME specified can not be an empty string');
        c.Volumes[v.trim()] = {};
      }
      return `VOLUME ${goList(instr.paths)}`;
    }
    case 'USER':
      c.User = instr.value;
      return `USER ${instr.value}`;
    case 'STOPSIGNAL': {
      if (!SIGNAL_RE.test(instr.value)) throw invalidArgument(`Invalid signal: ${instr.value}`);
      c.StopSignal = instr.value;
      return `STOPSIGNAL ${instr.value}`;
    }
    case 'SHELL':
      c.Shell = instr.shell;
      return `SHELL ${goList(instr.shell)}`;
    case 'ONBUILD':
      c.OnBuild = [...(c.OnBuild ?? []), instr.expression];
      return `ONBUILD ${instr.expression}`;
    case 'MAINTAINER':
      st.image.author = instr.value;
      return `MAINTAINER ${instr.value}`;
    case 'HEALTHCHECK': {
      if (instr.test[0] === 'NONE') c.Healthcheck = { Test: ['NONE'] };
      else {
        // Options left unset are inherited from the previous HEALTHCHECK (seen on dockerd).
        const prev = c.Healthcheck && c.Healthcheck.Test?.[0] !== 'NONE' ? c.Healthcheck : {};
        c.Healthcheck = {
          ...prev,
          Test: instr.test,
          ...(instr.interval !== undefined ? { Interval: instr.interval } : {}),
          ...(instr.timeout !== undefined ? { Timeout: instr.timeout } : {}),
          ...(instr.startPeriod !== undefined ? { StartPeriod: instr.startPeriod } : {}),
          ...(instr.startInterval !== undefined ? { StartInterval: instr.startInterval } : {}),
          ...(instr.retries !== undefined ? { Retries: instr.retries } : {}),
        };
      }
      // Docker prints the instruction's own options (%q of its HealthConfig: unset ones are
      // zero there; the inheritance happens when the image is committed), StartInterval
      // only by the Dockers that know it.
      const dur = (ns: number | undefined) => JSON.stringify(goDuration(ns ?? 0));
      const fields = [
        goQuoteList(instr.test),
        dur(instr.interval),
        dur(instr.timeout),
        dur(instr.startPeriod),
        ...(instr.startInterval !== undefined ? [dur(instr.startInterval)] : []),
        goQuoteRune(instr.retries ?? 0),
      ];
      return `HEALTHCHECK &{${fields.join(' ')}}`;
    }
    default:
      throw new Error(`${instr.kind} is not a config-only instruction`);
  }
}

/** WORKDIR resolved against the current one (Docker: relative to the previous WORKDIR). */
export function resolveWorkdir(current: string | undefined, value: string): string {
  return path.posix.resolve('/', current || '/', value);
}
