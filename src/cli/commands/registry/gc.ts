import type { CommandSpec } from '../../command.js';
import { loadRegistryServer } from './load-server.js';

function human(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(3).replace(/\.?0+$/, '')}${units[i]}`;
}

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Remove blobs no manifest references from a registry root (stop the server first)',
  flags: [
    {
      name: 'root',
      type: 'string',
      default: '/var/lib/wharf-registry',
      help: 'Directory holding the registry storage',
    },
    { name: 'dry-run', short: 'd', type: 'bool', help: 'Only report what would be deleted' },
    {
      name: 'delete-untagged',
      short: 'm',
      type: 'bool',
      help: 'Also delete manifests that no tag reaches (through indexes or as referrers)',
    },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Print only the summary' },
  ],
  args: { max: 0 },
  async run(cli, f) {
    const mod = await loadRegistryServer();
    const dryRun = f.bool('dry-run');
    const quiet = f.bool('quiet');
    const res = await mod.collectGarbage({
      root: f.str('root'),
      dryRun,
      deleteUntagged: f.bool('delete-untagged'),
      logger: mod.createLogger('warn'),
      report: quiet ? undefined : (line) => cli.stdout.write(`${line}\n`),
    });
    cli.stdout.write(
      `\n${res.marked} blobs marked, ${res.deleted.length} blobs ${dryRun ? 'eligible for deletion' : 'deleted'} (${human(res.freedBytes)})\n`,
    );
    return 0;
  },
};
