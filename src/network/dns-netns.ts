import { spawn } from 'node:child_process';
import type dgram from 'node:dgram';

import { internal } from '../common/index.js';
import { batchToken } from './iproute.js';

/** Where the resolver answers inside a container's namespace (as Docker's). */
export const NETNS_RESOLVER = '127.0.0.11';

const OPEN_TIMEOUT_MS = 5000;

/**
 * A UDP socket bound on 127.0.0.11:53 inside the namespace at `netnsPath`, owned by the
 * daemon. Node cannot enter a namespace, so a short-lived child does: `nsenter --net=<ns>
 * node -e …` binds the socket there and hands it back over the IPC channel (Node passes
 * dgram sockets between processes), then exits. The socket stays in the container's
 * namespace; the daemon reads and answers on it from the host namespace, where the forwarder
 * reaches the host's resolvers. Costs one short Node process per container start on a
 * network that needs it (macvlan: the host is not reachable from there).
 */
export function openNetnsSocket(
  netnsPath: string,
  nodePath = process.execPath,
): Promise<dgram.Socket> {
  const ns = batchToken(netnsPath, 'netns path');
  const code =
    "const s=require('dgram').createSocket('udp4');" +
    "s.on('error',(e)=>{console.error(e.message);process.exit(1)});" +
    `s.bind({address:'${NETNS_RESOLVER}',port:53,exclusive:true},()=>process.send('socket',s,()=>process.exit(0)));`;
  return new Promise((resolve, reject) => {
    // Without NODE_EXTRA_CA_CERTS: Node parses that bundle at start-up (~35 ms here), and
    // this process opens no TLS connection.
    const { NODE_EXTRA_CA_CERTS: _unused, ...env } = process.env;
    const child = spawn('nsenter', [`--net=${ns}`, nodePath, '-e', code], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env,
    });
    let stderr = '';
    let done = false;
    const finish = (err?: Error, sock?: dgram.Socket): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (sock) resolve(sock);
      else reject(err ?? internal('no socket'));
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(internal(`opening the DNS socket in ${ns}: timed out`));
    }, OPEN_TIMEOUT_MS);
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', (err) => finish(internal(`opening the DNS socket in ${ns}`, err)));
    child.on('message', (_m, handle) => {
      if (handle && typeof (handle as dgram.Socket).send === 'function')
        finish(undefined, handle as dgram.Socket);
    });
    child.on('exit', (code) =>
      finish(internal(`opening the DNS socket in ${ns}: exit ${code}: ${stderr.trim()}`)),
    );
  });
}
