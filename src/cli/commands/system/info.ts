import type { SystemInfo } from '../../../api-types/index.js';
import type { CommandSpec } from '../../command.js';
import { describeErrorText } from '../../errors.js';
import { makeContext, writeEach } from '../../format/formatter.js';
import { bytesSize } from '../../units.js';

function serverText(i: SystemInfo): string {
  const lines: string[] = [];
  const p = (label: string, v: unknown): void => {
    if (v !== undefined && v !== null && v !== '') lines.push(` ${label}: ${v}`);
  };
  p('Containers', i.Containers ?? 0);
  lines.push(`  Running: ${i.ContainersRunning ?? 0}`);
  lines.push(`  Paused: ${i.ContainersPaused ?? 0}`);
  lines.push(`  Stopped: ${i.ContainersStopped ?? 0}`);
  p('Images', i.Images ?? 0);
  p('Server Version', i.ServerVersion);
  p('Storage Driver', i.Driver);
  for (const [k, v] of i.DriverStatus ?? []) lines.push(`  ${k}: ${v}`);
  p('Logging Driver', i.LoggingDriver);
  p('Cgroup Driver', i.CgroupDriver);
  p('Cgroup Version', i.CgroupVersion);
  if (i.Runtimes) p('Runtimes', Object.keys(i.Runtimes).sort().join(' '));
  p('Default Runtime', i.DefaultRuntime);
  p('Init Binary', i.InitBinary);
  if (i.SecurityOptions?.length) {
    lines.push(' Security Options:');
    for (const o of i.SecurityOptions) lines.push(`  ${o.replace(/^name=/, '')}`);
  }
  p('Kernel Version', i.KernelVersion);
  p('Operating System', i.OperatingSystem);
  p('OSType', i.OSType);
  p('Architecture', i.Architecture);
  p('CPUs', i.NCPU);
  if (i.MemTotal !== undefined) p('Total Memory', bytesSize(i.MemTotal));
  p('Name', i.Name);
  p('ID', i.ID);
  p('Docker Root Dir', i.DockerRootDir);
  p('Debug Mode', i.Debug ?? false);
  if (i.Labels?.length) {
    lines.push(' Labels:');
    for (const l of i.Labels) lines.push(`  ${l}`);
  }
  p('Experimental', i.ExperimentalBuild ?? false);
  p('Live Restore Enabled', i.LiveRestoreEnabled ?? false);
  return `${lines.join('\n')}\n`;
}

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Display system-wide information',
  aliases: ['wharf system info', 'wharf info'],
  flags: [
    {
      name: 'format',
      short: 'f',
      type: 'string',
      help: "Format output using a custom template:\n'json': Print in JSON format\n'TEMPLATE': Print output using the given Go template",
    },
  ],
  args: { max: 0 },
  async run(cli, f) {
    const client = await cli.client();
    const format = f.str('format');
    let info: SystemInfo;
    try {
      info = await client.info();
    } catch (err) {
      if (format) throw err;
      cli.stdout.write(
        'Client:\n Version:    0.1.0\n Context:    default\n Debug Mode: false\n\nServer:\n',
      );
      cli.stderr.write(`ERROR: ${describeErrorText(err)}\nerrors pretty printing info\n`);
      return 1;
    }
    if (format) {
      // docker's template sees a Go struct: unknown fields are errors.
      writeEach(cli.stdout, format, [makeContext('system.dockerInfo', info)], {
        parse: 'template parsing error: ',
        parseStatus: 64,
        execute: '',
      });
      return 0;
    }
    cli.stdout.write(
      'Client:\n Version:    0.1.0\n Context:    default\n Debug Mode: false\n\nServer:\n',
    );
    cli.stdout.write(serverText(info));
    for (const w of info.Warnings ?? []) cli.stderr.write(`${w}\n`);
    return 0;
  },
};
