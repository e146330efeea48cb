import { invalidArgument } from '../common/index.js';

/** The kernel copies mount data into one page; the option string must fit (with its NUL). */
export const MOUNT_DATA_MAX = 4096 - 1;

export interface OverlayOptions {
  /** Lower directories, top layer first, as paths the mount will resolve (relative is fine). */
  lowerdirs: string[];
  upperdir: string;
  workdir: string;
  readonly?: boolean;
}

/**
 * The overlay mount data string. Paths are meant to be short and relative to the
 * snapshotter root (mount runs with that as its cwd), which keeps ~200 layers under a page.
 */
export function overlayMountOptions(o: OverlayOptions): string {
  if (o.lowerdirs.length === 0) throw invalidArgument('overlay needs at least one lower directory');
  for (const p of [...o.lowerdirs, o.upperdir, o.workdir]) {
    if (p === '' || /[,:\\\n]/.test(p))
      throw invalidArgument(`overlay path not usable in mount options: ${p}`);
  }
  const opts = [
    ...(o.readonly ? ['ro'] : []),
    `lowerdir=${o.lowerdirs.join(':')}`,
    `upperdir=${o.upperdir}`,
    `workdir=${o.workdir}`,
  ].join(',');
  if (opts.length > MOUNT_DATA_MAX) {
    throw invalidArgument(
      `too many layers: overlay mount options are ${opts.length} bytes (max ${MOUNT_DATA_MAX})`,
    );
  }
  return opts;
}

/** Options of a read-only overlay with lower directories only (two at least), top first. */
export function overlayViewOptions(lowerdirs: string[]): string {
  if (lowerdirs.length < 2)
    throw invalidArgument('a read-only overlay needs two lower directories');
  for (const p of lowerdirs) {
    if (p === '' || /[,:\\\n]/.test(p))
      throw invalidArgument(`overlay path not usable in mount options: ${p}`);
  }
  const opts = `ro,lowerdir=${lowerdirs.join(':')}`;
  if (opts.length > MOUNT_DATA_MAX) {
    throw invalidArgument(
      `too many layers: overlay mount options are ${opts.length} bytes (max ${MOUNT_DATA_MAX})`,
    );
  }
  return opts;
}

/** The argv for mounting; run it with the snapshotter root as cwd. */
export function overlayMountArgs(target: string, options: string): string[] {
  return ['mount', '-t', 'overlay', '-o', options, '--', 'overlay', target];
}

/** A container/snapshot ID we accept as a directory name. */
export function validSnapshotID(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(id);
}
