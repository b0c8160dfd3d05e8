/** /proc/net/tcp's state code for a listening socket. */
const TCP_LISTEN = '0A';

/**
 * Local addresses a relay or the edge reaches on 127.0.0.1, as /proc/net/tcp{,6} writes them (hex, in the
 * kernel's byte order): 0.0.0.0 and 127.0.0.1; `::` and `::ffff:127.0.0.1` for a dual-stack socket.
 */
const REACHABLE_ADDRESSES = new Set([
  '00000000',
  '0100007F',
  '00000000000000000000000000000000',
  '0000000000000000FFFF00000100007F',
]);

/**
 * Whether the text of /proc/net/tcp and /proc/net/tcp6 (read in the instance's network namespace) shows a
 * socket listening on `port` at an address reachable on 127.0.0.1.
 */
export function listensOn(procNetTcp: string, port: number): boolean {
  const wantedPort = port.toString(16).toUpperCase().padStart(4, '0');
  return procNetTcp.split(/\r?\n/).some((line) => {
    const [, local, , state] = line.trim().split(/\s+/);
    if (state !== TCP_LISTEN || !local) return false;
    const [address, localPort] = local.split(':');
    return localPort === wantedPort && REACHABLE_ADDRESSES.has(address ?? '');
  });
}
