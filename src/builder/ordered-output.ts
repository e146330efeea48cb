/**
 * The build stream while independent stages run in parallel: Docker's classic format is one
 * sequence of `Step n/N` blocks, so each stage's text is passed on live while it is the
 * earliest unfinished stage (in Dockerfile order) and buffered otherwise, then flushed when
 * its turn comes. The stream reads exactly as a sequential build's (same step numbers, same
 * order); only its timing shows the overlap.
 */
export class OrderedOutput {
  private readonly buffers = new Map<number, string[]>();
  private readonly finished = new Set<number>();
  private head = 0;

  constructor(
    /** Stage indexes in the order their text must appear. */
    private readonly order: readonly number[],
    private readonly emit: (text: string) => void,
  ) {
    for (const i of order) this.buffers.set(i, []);
  }

  /** The writer for stage `i`'s text. */
  writer(i: number): (text: string) => void {
    return (text) => {
      if (this.order[this.head] === i) this.emit(text);
      else this.buffers.get(i)?.push(text);
    };
  }

  /** Stage `i` is done: later stages' buffered text follows in order. */
  finish(i: number): void {
    this.finished.add(i);
    while (this.head < this.order.length && this.finished.has(this.order[this.head]!)) {
      this.head++;
      this.flush(this.order[this.head]);
    }
  }

  /** After a failure: what stages up to `i` (in order) said so far. */
  flushUpTo(i: number): void {
    for (let k = this.head; k < this.order.length; k++) {
      this.flush(this.order[k]);
      if (this.order[k] === i) break;
    }
  }

  private flush(i: number | undefined): void {
    if (i === undefined) return;
    const buf = this.buffers.get(i);
    if (!buf) return;
    for (const t of buf.splice(0)) this.emit(t);
  }
}
