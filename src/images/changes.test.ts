import { describe, expect, it } from 'vitest';

import { applyChanges, processWord, splitWords } from './changes.js';

describe('applyChanges', () => {
  it('parses exec and shell forms of CMD and ENTRYPOINT', () => {
    expect(applyChanges({}, ['CMD ["sh", "-c", "echo hi"]']).Cmd).toEqual(['sh', '-c', 'echo hi']);
    expect(applyChanges({}, ['CMD echo $HOME']).Cmd).toEqual(['/bin/sh', '-c', 'echo $HOME']);
    expect(applyChanges({}, ['cmd [not json']).Cmd).toEqual(['/bin/sh', '-c', '[not json']);
    expect(applyChanges({}, ['ENTRYPOINT ["/init"]'])).toMatchObject({
      Entrypoint: ['/init'],
      Cmd: null,
    });
    // ENTRYPOINT resets an inherited CMD, but not one set by an earlier change
    expect(applyChanges({ Cmd: ['old'] }, ['ENTRYPOINT x']).Cmd).toBeNull();
    expect(applyChanges({}, ['CMD ["a"]', 'ENTRYPOINT ["b"]'])).toMatchObject({
      Cmd: ['a'],
      Entrypoint: ['b'],
    });
  });

  it('parses ENV in both forms, with quotes and expansion', () => {
    const c = applyChanges({ Env: ['PATH=/bin'] }, [
      'ENV A=1 B="two words" C=\'$A\' D=$A${B:+x}',
      'ENV LEGACY some value here',
      'ENV PATH=/usr/local/bin:$PATH',
    ]);
    // the words of one ENV line see the environment from before that line, as in docker
    expect(c.Env).toEqual([
      'PATH=/usr/local/bin:/bin',
      'A=1',
      'B=two words',
      'C=$A',
      'D=',
      'LEGACY=some value here',
    ]);
  });

  it('parses LABEL, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, ONBUILD', () => {
    const c = applyChanges({}, [
      'LABEL a=b "c d"="e f"',
      'EXPOSE 80 53/udp 8000-8002',
      'VOLUME ["/data", "/logs"]',
      'VOLUME /cache /tmp2',
      'ENV U=wharf',
      'USER $U:1000',
      'WORKDIR /app',
      'WORKDIR sub',
      'STOPSIGNAL SIGUSR1',
      'ONBUILD RUN echo hi',
    ]);
    expect(c.Labels).toEqual({ a: 'b', 'c d': 'e f' });
    expect(Object.keys(c.ExposedPorts!)).toEqual([
      '80/tcp',
      '53/udp',
      '8000/tcp',
      '8001/tcp',
      '8002/tcp',
    ]);
    expect(Object.keys(c.Volumes!)).toEqual(['/data', '/logs', '/cache', '/tmp2']);
    expect(c.User).toBe('wharf:1000');
    expect(c.WorkingDir).toBe('/app/sub');
    expect(c.StopSignal).toBe('SIGUSR1');
    expect(c.OnBuild).toEqual(['RUN echo hi']);
  });

  it.each([
    ['RUN echo hi', 'run is not a valid change command'],
    ['FROM busybox', 'from is not a valid change command'],
    ['BOGUS x', 'unknown instruction: BOGUS'],
    ['EXPOSE 99999', 'invalid range'],
    ['EXPOSE abc', 'invalid containerPort: abc'],
    ['ONBUILD ONBUILD RUN x', 'Chaining ONBUILD'],
    ['STOPSIGNAL not a signal', 'Invalid signal'],
    ['ENV', 'ENV requires at least one argument'],
    ['ENV A="unterminated', 'unexpected end of statement'],
  ])('rejects %j', (line, message) => {
    expect(() => applyChanges({}, [line])).toThrow(message);
  });

  it('does not modify the base config', () => {
    const base = { Env: ['A=1'] };
    applyChanges(base, ['ENV B=2']);
    expect(base).toEqual({ Env: ['A=1'] });
  });
});

describe('word helpers', () => {
  it('splits on unquoted whitespace and processes quotes', () => {
    expect(splitWords(`a "b c" d\\ e 'f g'`)).toEqual(['a', '"b c"', 'd\\ e', "'f g'"]);
    expect(processWord('"x $Y" \'$Y\' \\$Y ${Z:-dflt}', ['Y=1'])).toBe('x 1 $Y $Y dflt');
  });
});
