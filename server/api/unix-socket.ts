import fs from 'node:fs';
import type http from 'node:http';
import net from 'node:net';

/**
 * The API (and the log websocket) on a unix socket as well, for clients on this machine: a
 * request over it never crosses a network a tenant could watch, and only the server's user can
 * open it (0600). The connections are handed to the same HTTP server as TCP's.
 */
export async function listenOnUnixSocket(server: http.Server, socketPath: string): Promise<net.Server> {
  fs.rmSync(socketPath, { force: true });
  const unix = net.createServer((socket) => server.emit('connection', socket));
  await new Promise<void>((resolve, reject) => {
    unix.once('error', reject);
    unix.listen(socketPath, () => resolve());
  });
  fs.chmodSync(socketPath, 0o600);
  return unix;
}
