import { promises as fsp } from 'node:fs';

/**
 * A running container's /etc/hosts as `network connect` / `disconnect` change it, as dockerd
 * does: connecting adds a line "<address>\t<hostname>" for the new endpoint, disconnecting
 * removes that address's line (dockerd 20.10 removed every line with the hostname, the other
 * networks' ones included; newer dockerd, and Wharf, remove only the disconnected address).
 * The file is bind-mounted into the container, so it is rewritten in place (a rename would
 * leave the container on the old inode). Pure edits, unit-tested; I/O in updateHostsFile.
 */

export function addHostsLine(text: string, address: string, hostname: string): string {
  const line = `${address}\t${hostname}`;
  const lines = splitLines(text);
  if (lines.includes(line)) return text;
  return [...lines, line].join('\n') + '\n';
}

export function removeHostsLine(text: string, address: string, hostname: string): string {
  const lines = splitLines(text);
  const kept = lines.filter((l) => {
    const [addr, ...names] = l.trim().split(/\s+/);
    return !(addr === address && names.length === 1 && names[0] === hostname);
  });
  if (kept.length === lines.length) return text;
  return kept.join('\n') + '\n';
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** Apply `edit` to the hosts file at `file` in place; a missing file is left missing. */
export async function updateHostsFile(file: string, edit: (text: string) => string): Promise<void> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const next = edit(text);
  if (next !== text) await fsp.writeFile(file, next);
}
