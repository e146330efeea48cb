/**
 * `wharf build` on a terminal: the classic stream ("Step 2/5 : RUN …", " ---> Using cache",
 * output, " ---> <id>") redrawn as a step list with CACHED marks and times, the running
 * step's last output lines shown under it, folded away when it ends. Elsewhere the stream is
 * printed as it comes (see build.ts).
 */
const FOLD = 6;

interface Step {
  title: string;
  started: number;
  ended?: number;
  cached: boolean;
  output: string[];
}

export class BuildProgress {
  private readonly steps: Step[] = [];
  private drawn = 0;
  private partial = '';
  private readonly notes: string[] = [];

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly now: () => number = () => Date.now(),
  ) {}

  private get current(): Step | undefined {
    const s = this.steps.at(-1);
    return s && s.ended === undefined ? s : undefined;
  }

  /** One `stream` message's text. */
  write(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) this.line(line);
    this.draw();
  }

  private line(line: string): void {
    const step = /^Step (\d+\/\d+) : (.*)$/.exec(line);
    if (step) {
      this.endCurrent();
      this.steps.push({
        title: `[${step[1]}] ${step[2]}`,
        started: this.now(),
        cached: false,
        output: [],
      });
      return;
    }
    const cur = this.current;
    if (line === ' ---> Using cache') {
      if (cur) cur.cached = true;
      return;
    }
    if (
      /^ ---> (Running in )?[0-9a-f]{12}$/.test(line) ||
      /^Removing intermediate container /.test(line)
    ) {
      if (!line.startsWith(' ---> Running in ') && !line.startsWith('Removing')) this.endCurrent();
      return;
    }
    if (/^Successfully (built|tagged) /.test(line) || line.startsWith('[Warning]')) {
      this.endCurrent();
      this.notes.push(line);
      return;
    }
    if (cur) cur.output.push(line);
    else this.notes.push(line);
  }

  private endCurrent(): void {
    const cur = this.current;
    if (cur) cur.ended = this.now();
  }

  private render(final: boolean): string[] {
    const rows: string[] = [];
    for (const s of this.steps) {
      const secs = (((s.ended ?? this.now()) - s.started) / 1000).toFixed(1);
      const mark = s.cached ? 'CACHED ' : '';
      rows.push(`${s.ended === undefined && !final ? '=> ' : ' => '}${mark}${s.title}  ${secs}s`);
      if (s.ended === undefined && !final) {
        for (const o of s.output.slice(-FOLD)) rows.push(`\x1b[2m   ${o}\x1b[0m`);
      }
    }
    return [...rows, ...this.notes];
  }

  private draw(final = false): void {
    const width = this.out.columns || 120;
    const rows = this.render(final).map((r) => (r.length > width ? r.slice(0, width - 1) : r));
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const r of rows) text += `\r\x1b[2K${r}\n`;
    // Lines the previous frame had beyond this one are cleared.
    for (let i = rows.length; i < this.drawn; i++) text += '\r\x1b[2K\n';
    if (this.drawn > rows.length) text += `\x1b[${this.drawn - rows.length}A`;
    this.out.write(text);
    this.drawn = rows.length;
  }

  /** The build ended (well or not): the last frame, every step folded. */
  finish(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
    this.endCurrent();
    this.draw(true);
  }

  /** The output of the step that failed (shown after the frame, unfolded). */
  failedOutput(): string[] {
    return this.steps.at(-1)?.output ?? [];
  }
}
