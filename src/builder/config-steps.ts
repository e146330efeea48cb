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

function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const s = ns / 1e9;
  if (s >= 60) {
    const m = Math.floor(s / 60);
    const rest = s - m * 60;
    return `${m}m${rest}s`;
  }
  return s >= 1 ? `${s}s` : `${ns / 1e6}ms`;
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
      return `EXPOSE ${ports.join(' ')}`;
    }
    case 'VOLUME': {
      c.Volumes = { ...(c.Volumes ?? {}) };
      for (const v of instr.paths) {
        if (v.trim() === '') throw invalidArgument('VOLUME specified can not be an empty string');
        c.Volumes[v.trim()] = {};
      }
      return `VOLUME ${goQuoteList(instr.paths)}`;
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
      return `SHELL ${goQuoteList(instr.shell)}`;
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
      const h = c.Healthcheck as Record<string, unknown>;
      return `HEALTHCHECK &{${goQuoteList(instr.test)} ${JSON.stringify(goDuration(Number(h['Interval'] ?? 0)))} ${JSON.stringify(goDuration(Number(h['Timeout'] ?? 0)))} ${JSON.stringify(goDuration(Number(h['StartPeriod'] ?? 0)))} ${JSON.stringify(goDuration(Number(h['StartInterval'] ?? 0)))} '\\x${Number(
        h['Retries'] ?? 0,
      )
        .toString(16)
        .padStart(2, '0')}'}`;
    }
    default:
      throw new Error(`${instr.kind} is not a config-only instruction`);
  }
}

/** WORKDIR resolved against the current one (Docker: relative to the previous WORKDIR). */
export function resolveWorkdir(current: string | undefined, value: string): string {
  return path.posix.resolve('/', current || '/', value);
}
