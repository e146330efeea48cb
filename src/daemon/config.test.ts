import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { buildConfig, DEFAULTS, parseFlags } from './config.js';

const invalid = expect.objectContaining({ kind: 'invalid-argument' });

describe('parseFlags', () => {
  it('collects repeated -H and --host', () => {
    const f = parseFlags(['-H', 'unix:///a.sock', '--host', 'unix:///b.sock', '-H=unix:///c.sock']);
    expect(f.values.hostsGiven).toEqual(['unix:///a.sock', 'unix:///b.sock', 'unix:///c.sock']);
  });

  it('parses --ipv6 (a boolean flag) and --fixed-cidr-v6', () => {
    expect(parseFlags(['--ipv6', '--fixed-cidr-v6', 'fd00:1::/64']).values).toEqual({
      ipv6: true,
      fixedCidrV6: 'fd00:1::/64',
    });
    expect(parseFlags(['--ipv6=false']).values).toEqual({ ipv6: false });
  });

  it('accepts --flag=value and --flag value, splitting on the first "="', () => {
    expect(parseFlags(['--data-root=/d', '--exec-root', '/e']).values).toEqual({
      dataRoot: '/d',
      execRoot: '/e',
    });
    expect(parseFlags(['--bip=10.0.0.1/24']).values.bip).toBe('10.0.0.1/24');
    expect(parseFlags(['--host=unix:///x=y.sock']).values.hostsGiven).toEqual(['unix:///x=y.sock']);
  });

  it('maps every option to its config key', () => {
    expect(
      parseFlags([
        '-g',
        '/g',
        '-p',
        '/p.pid',
        '-l',
        'warn',
        '--config-file',
        '/c.json',
        '-b',
        'br0',
        '--chain-prefix',
        'T1',
        '--mtu',
        '1400',
        '--log-driver',
        'local',
      ]).values,
    ).toEqual({
      dataRoot: '/g',
      pidfile: '/p.pid',
      logLevel: 'warn',
      configFile: '/c.json',
      bridge: 'br0',
      chainPrefix: 'T1',
      mtu: 1400,
      logDriver: 'local',
    });
    expect(parseFlags(['--graph', '/x']).values.dataRoot).toBe('/x');
    expect(parseFlags(['-D']).values.logLevel).toBe('debug');
    expect(parseFlags(['--debug']).values.logLevel).toBe('debug');
  });

  it('collects --log-opt k=v pairs, keeping "=" in values', () => {
    expect(
      parseFlags(['--log-opt', 'max-size=10m', '--log-opt=max-file=3', '--log-opt', 'tag=a=b'])
        .values.logOpts,
    ).toEqual({ 'max-size': '10m', 'max-file': '3', tag: 'a=b' });
    expect(() => parseFlags(['--log-opt', 'nonsense'])).toThrow('invalid log-opt: nonsense');
  });

  it('reports help and version', () => {
    expect(parseFlags(['-h'])).toMatchObject({ help: true });
    expect(parseFlags(['--help'])).toMatchObject({ help: true });
    expect(parseFlags(['-v'])).toMatchObject({ version: true });
    expect(parseFlags(['--version'])).toMatchObject({ version: true });
    expect(parseFlags([])).toEqual({ values: {} });
  });

  it('refuses unknown flags and missing values', () => {
    expect(() => parseFlags(['--nope'])).toThrow('unknown flag: --nope');
    expect(() => parseFlags(['--nope=1'])).toThrow('unknown flag: --nope');
    expect(() => parseFlags(['stray'])).toThrowError(invalid);
    expect(() => parseFlags(['--data-root'])).toThrow('flag needs an argument: --data-root');
  });
});

describe('buildConfig', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'wharf-config-'));
    file = path.join(dir, 'daemon.json');
    await writeFile(file, '{}');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const build = (...argv: string[]) => buildConfig(['--config-file', file, ...argv]);

  it('refuses a --config-file that does not exist, as dockerd', async () => {
    await rm(file);
    await expect(build()).rejects.toThrow(
      /unable to configure the daemon with file .*no such file/,
    );
  });

  it('takes the registry settings as flags too', async () => {
    const { config } = await build(
      '--insecure-registry',
      'a:5000',
      '--insecure-registry=10.0.0.0/8',
      '--registry-mirror',
      'http://127.0.0.1:5001',
      '--max-concurrent-downloads',
      '5',
      '--max-concurrent-uploads=1',
    );
    expect(config.insecureRegistries).toEqual(['a:5000', '10.0.0.0/8']);
    expect(config.registryMirrors).toEqual(['http://127.0.0.1:5001']);
    expect(config.maxConcurrentDownloads).toBe(5);
    expect(config.maxConcurrentUploads).toBe(1);
    await expect(build('--max-concurrent-downloads', '0')).rejects.toEqual(invalid);
    await expect(build('--registry-mirror', 'nope')).rejects.toEqual(invalid);
  });

  it('reads the registry keys of daemon.json and validates them', async () => {
    await writeFile(
      file,
      JSON.stringify({
        'insecure-registries': ['reg.lan:5000', '10.0.0.0/8'],
        'registry-mirrors': ['https://mirror.example/'],
        'max-concurrent-downloads': 6,
        'max-concurrent-uploads': 2,
      }),
    );
    const { config } = await build();
    expect(config.insecureRegistries).toEqual(['reg.lan:5000', '10.0.0.0/8']);
    expect(config.registryMirrors).toEqual(['https://mirror.example']);
    expect(config.maxConcurrentDownloads).toBe(6);
    expect(config.maxConcurrentUploads).toBe(2);
    for (const bad of [
      { 'registry-mirrors': ['ftp://m'] },
      { 'registry-mirrors': ['https://m/path'] },
      { 'insecure-registries': 'reg' },
      { 'max-concurrent-downloads': 0 },
      { 'max-concurrent-uploads': 1.5 },
    ]) {
      await writeFile(file, JSON.stringify(bad));
      await expect(build()).rejects.toEqual(invalid);
    }
  });

  it('uses the defaults when the file is empty JSON', async () => {
    await writeFile(file, '{}');
    const { config, help, version, ignoredKeys } = await build();
    expect(config).toEqual({ ...DEFAULTS, configFile: file });
    expect(ignoredKeys).toEqual([]);
    expect(help).toBeUndefined();
    expect(version).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("maps daemon.json's dockerd keys", async () => {
    await writeFile(
      file,
      JSON.stringify({
        hosts: ['unix:///tmp/w.sock'],
        'data-root': '/data',
        'exec-root': '/exec',
        'log-level': 'warn',
        bridge: 'br1',
        bip: '10.1.0.1/24',
        'wharf-chain-prefix': 'WT',
        'log-driver': 'local',
        'log-opts': { 'max-size': '1m' },
        mtu: 1450,
        ipv6: true,
        'fixed-cidr-v6': 'fd00:2::/64',
        'live-restore': true,
      }),
    );
    const { config, ignoredKeys } = await build();
    // dockerd's keys that Wharf does not act on are accepted and reported.
    expect(ignoredKeys).toEqual(['live-restore']);
    expect(config).toEqual({
      ...DEFAULTS,
      configFile: file,
      hosts: ['unix:///tmp/w.sock'],
      dataRoot: '/data',
      execRoot: '/exec',
      pidfile: '/exec/wharfd.pid',
      logLevel: 'warn',
      bridge: 'br1',
      bip: '10.1.0.1/24',
      chainPrefix: 'WT',
      logDriver: 'local',
      logOpts: { 'max-size': '1m' },
      mtu: 1450,
      ipv6: true,
      fixedCidrV6: 'fd00:2::/64',
    });
  });

  it('refuses a daemon.json "ipv6" that is not a boolean', async () => {
    await writeFile(file, JSON.stringify({ ipv6: 'yes' }));
    await expect(build()).rejects.toThrow('"ipv6" must be a boolean');
  });

  it('lets flags override the file', async () => {
    await writeFile(file, JSON.stringify({ 'data-root': '/data', 'log-level': 'warn' }));
    const { config } = await build('--data-root', '/flag', '-D');
    expect(config.dataRoot).toBe('/flag');
    expect(config.logLevel).toBe('debug');
  });

  it('turns debug: true into the debug level', async () => {
    await writeFile(file, JSON.stringify({ debug: true }));
    expect((await build()).config.logLevel).toBe('debug');
  });

  it('derives the pidfile from the exec root unless given', async () => {
    expect((await build('--exec-root', '/x')).config.pidfile).toBe('/x/wharfd.pid');
    expect((await build('--exec-root', '/x', '-p', '/p.pid')).config.pidfile).toBe('/p.pid');
    await writeFile(file, JSON.stringify({ pidfile: '/file.pid' }));
    expect((await build('--exec-root', '/x')).config.pidfile).toBe('/file.pid');
  });

  it('refuses invalid JSON', async () => {
    await writeFile(file, '{ "data-root": ');
    await expect(build()).rejects.toThrow(`unable to configure the daemon with file ${file}:`);
    await expect(build()).rejects.toMatchObject({ kind: 'invalid-argument' });
    await writeFile(file, 'null');
    await expect(build()).rejects.toThrow(`unable to configure the daemon with file ${file}`);
  });

  it('refuses keys that are no daemon.json option, as dockerd', async () => {
    await writeFile(file, JSON.stringify({ 'data-root': '/d', 'data-rot': '/x', colour: 1 }));
    await expect(build()).rejects.toThrow(
      `unable to configure the daemon with file ${file}: the following directives don't match any configuration option: data-rot, colour`,
    );
  });

  it('refuses wrongly typed values', async () => {
    await writeFile(file, JSON.stringify({ 'data-root': 5 }));
    await expect(build()).rejects.toThrow('daemon.json: "data-root" must be a string');
  });

  it('refuses hosts given both in the file and as flags', async () => {
    await writeFile(file, JSON.stringify({ hosts: ['unix:///a.sock'] }));
    await expect(build('-H', 'unix:///b.sock')).rejects.toThrow(
      'the following directives are specified both as a flag and in the configuration file: hosts',
    );
    expect((await build()).config.hosts).toEqual(['unix:///a.sock']);
  });

  it('takes hosts from flags', async () => {
    const { config } = await build('-H', 'unix:///a.sock', '-H', 'unix:///b.sock');
    expect(config.hosts).toEqual(['unix:///a.sock', 'unix:///b.sock']);
  });

  it('refuses non-unix hosts', async () => {
    await expect(build('-H', 'tcp://0.0.0.0:2375')).rejects.toThrow(
      'only unix:// hosts are supported: tcp://0.0.0.0:2375',
    );
  });

  it('refuses an invalid log level from flags or file', async () => {
    await expect(build('-l', 'loud')).rejects.toThrow('unable to parse logging level: loud');
    await writeFile(file, JSON.stringify({ 'log-level': 'chatty' }));
    await expect(build()).rejects.toThrow('unable to parse logging level: chatty');
  });

  it('passes help and version through', async () => {
    expect(await build('--help')).toMatchObject({ help: true });
    expect(await build('-v')).toMatchObject({ version: true });
  });
});
