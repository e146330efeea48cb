import type { SystemVersion } from '../../../api-types/index.js';
import { ConnectionError } from '../../../client/errors.js';
import { CLIENT_API_VERSION } from '../../../client/engine-client.js';
import type { CommandSpec } from '../../command.js';
import { describeErrorText } from '../../errors.js';
import { makeContext, writeEach } from '../../format/formatter.js';

const CLIENT_VERSION = '0.1.0';

function clientInfo(apiVersion: string): Record<string, unknown> {
  return {
    Platform: { Name: '' },
    Version: CLIENT_VERSION,
    ApiVersion: apiVersion,
    DefaultAPIVersion: CLIENT_API_VERSION,
    GitCommit: '',
    GoVersion: `node${process.versions.node}`,
    Os: process.platform,
    Arch: process.arch === 'x64' ? 'amd64' : process.arch,
    BuildTime: '',
    Context: 'default',
  };
}

/**
 * docker's version template sees Go structs: unknown fields are errors, and the API version
 * fields are named APIVersion (their JSON name is ApiVersion).
 */
function templateContext(client: Record<string, unknown>, server: SystemVersion | null): object {
  const withApi = (typeName: string, v: Record<string, unknown>): object =>
    makeContext(typeName, v, { APIVersion: () => v['ApiVersion'] });
  return makeContext('system.versionInfo', {
    Client: withApi('*system.clientVersion', client),
    Server: server ? withApi('*types.Version', server as unknown as Record<string, unknown>) : null,
  });
}

function row(label: string, value: unknown, indent: string): string {
  return `${indent}${`${label}:`.padEnd(indent.length === 1 ? 19 : 18)}${value}\n`;
}

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Show the Wharf version information',
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
    let server: SystemVersion | null = null;
    let serverErr: unknown;
    let apiVersion = CLIENT_API_VERSION;
    try {
      apiVersion = await client.apiVersion();
      server = await client.serverVersion();
    } catch (err) {
      serverErr = err;
    }
    const info = { Client: clientInfo(apiVersion), Server: server };
    const format = f.str('format');
    if (format) {
      writeEach(cli.stdout, format, [templateContext(info.Client, server)], {
        parse: 'template parsing error: ',
        parseStatus: 64,
        execute: '',
        name: 'version',
      });
    } else {
      const c = info.Client;
      let out = 'Client:\n';
      out += row('Version', c.Version, ' ');
      out += row('API version', c.ApiVersion, ' ');
      out += row('Node version', process.versions.node, ' ');
      out += row('OS/Arch', `${c.Os}/${c.Arch}`, ' ');
      out += row('Context', 'default', ' ');
      if (server) {
        out += `\nServer: ${server.Platform?.Name ?? ''}\n`;
        out += ' Engine:\n';
        out += row('Version', server.Version, '  ');
        out += row(
          'API version',
          `${server.ApiVersion} (minimum version ${server.MinAPIVersion ?? ''})`,
          '  ',
        );
        if (server.GoVersion) out += row('Go version', server.GoVersion, '  ');
        out += row('Git commit', server.GitCommit ?? '', '  ');
        out += row('Built', server.BuildTime ?? '', '  ');
        out += row('OS/Arch', `${server.Os}/${server.Arch}`, '  ');
        out += row('Experimental', server.Experimental ?? false, '  ');
        for (const comp of server.Components ?? []) {
          if (comp.Name === 'Engine') continue;
          out += ` ${comp.Name}:\n`;
          out += row('Version', comp.Version, '  ');
          for (const [k, v] of Object.entries(comp.Details ?? {})) out += row(k, v, '  ');
        }
      }
      cli.stdout.write(out);
    }
    if (serverErr) {
      cli.stderr.write(
        `${serverErr instanceof ConnectionError ? serverErr.message : describeErrorText(serverErr)}\n`,
      );
      return 1;
    }
    return 0;
  },
};
