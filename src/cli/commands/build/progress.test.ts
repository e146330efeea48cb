import { describe, expect, it } from 'vitest';

import { BuildProgress } from './progress.js';

/** Just enough of a terminal for the renderer: CR, LF, erase line, cursor up. */
class Screen {
  lines: string[] = [''];
  row = 0;
  columns = 80;
  write(text: string): boolean {
    for (let i = 0; i < text.length; i++) {
      const esc = /^\x1b\[(\d*)([AK])/.exec(text.slice(i));
      if (esc) {
        if (esc[2] === 'A') this.row = Math.max(0, this.row - Number(esc[1] || 1));
        else this.lines[this.row] = '';
        i += esc[0].length - 1;
      } else if (text[i] === '\r') continue;
      else if (text[i] === '\n') {
        this.row++;
        this.lines[this.row] ??= '';
      } else this.lines[this.row] += text[i];
    }
    return true;
  }
  text(): string {
    return this.lines
      .map((l) => l.replace(/\x1b\[\d*m/g, ''))
      .join('\n')
      .trimEnd();
  }
}

describe('BuildProgress', () => {
  it('draws steps with CACHED marks and times, folds the running step output when it ends', () => {
    const screen = new Screen();
    let t = 0;
    const p = new BuildProgress(screen as unknown as NodeJS.WriteStream, () => t);
    p.write('Step 1/3 : FROM busybox\n ---> 0123456789ab\n');
    p.write('Step 2/3 : COPY a /a\n ---> Using cache\n ---> 1123456789ab\n');
    t = 1000;
    p.write('Step 3/3 : RUN make\n ---> Running in 2123456789ab\n');
    p.write('compiling one\ncompiling two\n');
    t = 3500;
    p.write(''); // the ticker's redraw
    expect(screen.text()).toBe(
      [
        ' => [1/3] FROM busybox  0.0s',
        ' => CACHED [2/3] COPY a /a  0.0s',
        '=> [3/3] RUN make  2.5s',
        '   compiling one',
        '   compiling two',
      ].join('\n'),
    );
    p.write('Removing intermediate container 2123456789ab\n ---> 3123456789ab\n');
    p.write('Successfully built 3123456789ab\nSuccessfully tagged app:latest\n');
    p.finish();
    expect(screen.text()).toBe(
      [
        ' => [1/3] FROM busybox  0.0s',
        ' => CACHED [2/3] COPY a /a  0.0s',
        ' => [3/3] RUN make  2.5s',
        'Successfully built 3123456789ab',
        'Successfully tagged app:latest',
      ].join('\n'),
    );
  });

  it('keeps the failed step output for the caller', () => {
    const screen = new Screen();
    const p = new BuildProgress(screen as unknown as NodeJS.WriteStream, () => 0);
    p.write('Step 1/1 : RUN false\n ---> Running in 2123456789ab\nboom\n');
    p.finish();
    expect(p.failedOutput()).toEqual(['boom']);
  });
});
