/** What the `prune` commands share: docker's confirmation prompt and the closing total. */
import type { Cli } from '../command.js';
import { humanSize } from '../units.js';

/** Reads one line from stdin (the prompt's answer); '' at EOF. */
async function readAnswer(stdin: NodeJS.ReadStream): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split('\n')[0]!.trim();
}

/** Prints `warning` and docker's question; true when the answer is y or yes. */
export async function confirmPrune(cli: Cli, warning: string): Promise<boolean> {
  cli.stdout.write(`${warning}\nAre you sure you want to continue? [y/N] `);
  const answer = (await readAnswer(cli.stdin)).toLowerCase();
  return answer === 'y' || answer === 'yes';
}

/** `Deleted <What>:` with one line each and a blank line, or nothing when none went. */
export function deletedSection(title: string, lines: readonly string[] | null | undefined): string {
  if (!lines || lines.length === 0) return '';
  return `${title}:\n${lines.map((l) => `${l}\n`).join('')}\n`;
}

export function reclaimedLine(bytes: number): string {
  return `Total reclaimed space: ${humanSize(bytes, 4)}\n`;
}
