/**
 * Go's text/tabwriter as docker configures it (minwidth 10, tabwidth 1, padding 3, padchar
 * ' ', no flags): tab-terminated cells are aligned per column block; the text after a line's
 * last tab is not. A line without tabs ends the block (Go flushes there).
 */
export interface TabwriterOptions {
  minWidth: number;
  padding: number;
}

const DOCKER: TabwriterOptions = { minWidth: 10, padding: 3 };

function width(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export function tabwrite(text: string, opts: TabwriterOptions = DOCKER): string {
  const rawLines = text.split('\n');
  let out = '';
  let segment: string[][] = [];
  const flush = (): void => {
    if (segment.length > 0) out += formatSegment(segment, opts);
    segment = [];
  };
  rawLines.forEach((line, i) => {
    const cells = line.split('\t');
    segment.push(cells);
    const last = i === rawLines.length - 1;
    if (!last) {
      // Go terminates the line; a tab-less line flushes the block.
      if (cells.length === 1) {
        flush();
        out += '\n';
      } else {
        segment.push(['\n']);
      }
    }
  });
  flush();
  return out;
}

/** Lines of one block; a ['\n'] entry marks a line end (kept so lines keep their order). */
function formatSegment(entries: string[][], opts: TabwriterOptions): string {
  const lines: string[][] = [];
  const ends: boolean[] = [];
  for (const e of entries) {
    if (e.length === 1 && e[0] === '\n') ends[lines.length - 1] = true;
    else lines.push(e);
  }
  const widths: number[] = [];
  let out = '';
  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i] as string[];
      line.forEach((cell, j) => {
        if (j < widths.length && j < line.length - 1) {
          out += cell + ' '.repeat(Math.max(0, (widths[j] as number) - width(cell)));
        } else {
          out += cell;
        }
      });
      if (ends[i]) out += '\n';
    }
  };
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let cur = line0; cur < line1; cur++) {
      if (column >= (lines[cur] as string[]).length - 1) continue;
      writeLines(line0, cur);
      line0 = cur;
      let w = opts.minWidth;
      for (; cur < line1; cur++) {
        const line = lines[cur] as string[];
        if (column >= line.length - 1) break;
        w = Math.max(w, width(line[column] as string) + opts.padding);
      }
      widths.push(w);
      format(line0, cur);
      widths.pop();
      line0 = cur;
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return out;
}
