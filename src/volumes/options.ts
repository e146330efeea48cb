import { invalidArgument } from '../common/index.js';

/** Driver options the local driver knows (Docker's `type`, `device`, `o`, `size`). */
const VALID_OPTS = new Set(['type', 'o', 'device', 'size']);

/** Each option needs the others listed: a mount needs both a type and a device. */
const MANDATORY: Array<[string, string[]]> = [
  ['device', ['type']],
  ['type', ['device']],
  ['o', ['device', 'type']],
];

/** What the local driver mounts on a volume's _data when first used (none: a plain dir). */
export interface LocalMountOptions {
  type: string;
  device: string;
  o: string;
}

/**
 * Validate the local driver's options as Docker does; the message is prefixed by the caller
 * with "create NAME: ". `size` needs project quotas, which this daemon does not set up.
 */
export function validateLocalOptions(opts: Record<string, string>): void {
  for (const key of Object.keys(opts)) {
    if (!VALID_OPTS.has(key)) throw invalidArgument(`invalid option: ${JSON.stringify(key)}`);
  }
  if (opts['size'] !== undefined && opts['size'] !== '' && opts['size'] !== '0') {
    throw invalidArgument('quota size requested but no quota support');
  }
  for (const [opt, required] of MANDATORY) {
    if (!(opt in opts)) continue;
    for (const r of required) {
      if (!(r in opts)) throw invalidArgument(`missing required option: ${JSON.stringify(r)}`);
    }
  }
}

/** The mount a volume's options ask for, or undefined for a plain directory volume. */
export function localMountOptions(
  opts: Record<string, string> | null | undefined,
): LocalMountOptions | undefined {
  if (!opts || (!opts['type'] && !opts['device'])) return undefined;
  return { type: opts['type'] ?? '', device: opts['device'] ?? '', o: opts['o'] ?? '' };
}

/** argv for mount(8): `-t none -o bind` makes a bind mount, as the mount syscall would. */
export function mountArgs(m: LocalMountOptions, target: string): string[] {
  const argv = ['mount'];
  if (m.type) argv.push('-t', m.type);
  if (m.o) argv.push('-o', m.o);
  argv.push('--', m.device, target);
  return argv;
}
