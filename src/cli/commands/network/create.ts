import type { IPAMConfig } from '../../../api-types/index.js';
import { StatusError, type CommandSpec } from '../../command.js';
import { keyValues } from '../volume/volume-context.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] NETWORK',
  description: 'Create a network',
  aliases: ['wharf network create'],
  flags: [
    {
      name: 'driver',
      short: 'd',
      type: 'string',
      help: 'Driver to manage the Network',
      default: 'bridge',
    },
    {
      name: 'subnet',
      type: 'list',
      help: 'Subnet in CIDR format that represents a network segment',
    },
    { name: 'gateway', type: 'list', help: 'IPv4 or IPv6 Gateway for the master subnet' },
    { name: 'ip-range', type: 'list', help: 'Allocate container ip from a sub-range' },
    {
      name: 'aux-address',
      type: 'list',
      valueName: 'map',
      help: 'Auxiliary IPv4 or IPv6 addresses used by Network driver',
    },
    { name: 'internal', type: 'bool', help: 'Restrict external access to the network' },
    { name: 'attachable', type: 'bool', help: 'Enable manual container attachment' },
    { name: 'label', type: 'list', help: 'Set metadata on a network' },
    {
      name: 'opt',
      short: 'o',
      type: 'list',
      valueName: 'map',
      help: 'Set driver specific options',
    },
    { name: 'ipv6', type: 'bool', help: 'Enable or disable IPv6 networking' },
  ],
  args: { min: 1, max: 1 },
  async run(cli, f, args) {
    const subnets = f.list('subnet');
    const gateways = f.list('gateway');
    const ranges = f.list('ip-range');
    if (gateways.length > subnets.length || ranges.length > subnets.length)
      throw new StatusError(1, 'every ip-range or gateway must have a corresponding subnet');
    const aux = keyValues(f.list('aux-address'));
    const config: IPAMConfig[] = subnets.map((subnet, i) => ({
      Subnet: subnet,
      ...(gateways[i] ? { Gateway: gateways[i] } : {}),
      ...(ranges[i] ? { IPRange: ranges[i] } : {}),
      ...(i === 0 && Object.keys(aux).length > 0 ? { AuxiliaryAddresses: aux } : {}),
    }));
    const client = await cli.client();
    const res = await client.networkCreate({
      Name: args[0]!,
      Driver: f.str('driver'),
      Internal: f.bool('internal'),
      Attachable: f.bool('attachable'),
      ...(f.bool('ipv6') ? { EnableIPv6: true } : {}),
      IPAM: { Driver: 'default', Config: config },
      Options: keyValues(f.list('opt')),
      Labels: keyValues(f.list('label')),
    });
    cli.stdout.write(`${res.Id}\n`);
    return 0;
  },
};
