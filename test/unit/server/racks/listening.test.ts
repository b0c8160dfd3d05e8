import { describe, expect, it } from 'vitest';
import { listensOn } from '../../../../server/racks/listening.ts';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const row = (local: string, state: string) =>
  `   0: ${local} 00000000:0000 ${state} 00000000:00000000 00:00000000 00000000     0        0 4242 1 0`;

describe('listening on $PORT, read from /proc/net/tcp{,6}', () => {
  it('sees a socket listening on the port at 0.0.0.0, 127.0.0.1, :: or ::ffff:127.0.0.1', () => {
    for (const local of [
      '00000000:1388',
      '0100007F:1388',
      '00000000000000000000000000000000:1388',
      '0000000000000000FFFF00000100007F:1388',
    ])
      expect(listensOn(`${HEADER}\n${row(local, '0A')}\n`, 5000), local).toBe(true);
  });

  it('ignores other ports, other states and addresses the relay cannot reach', () => {
    expect(listensOn(`${HEADER}\n${row('00000000:1389', '0A')}\n`, 5000)).toBe(false);
    // an established connection from the port (a client of the app), not a listener
    expect(listensOn(`${HEADER}\n${row('0100007F:1388', '01')}\n`, 5000)).toBe(false);
    // ::1 only: the relay connects to 127.0.0.1
    expect(listensOn(`${HEADER}\n${row('00000000000000000000000001000000:1388', '0A')}\n`, 5000)).toBe(false);
    expect(listensOn('', 5000)).toBe(false);
  });

  it('reads both files at once, with the line ends a terminal gives', () => {
    const both = [HEADER, row('0100007F:0035', '0A'), HEADER, row('00000000000000000000000000000000:1F90', '0A')];
    expect(listensOn(both.join('\r\n'), 8080)).toBe(true);
    expect(listensOn(both.join('\r\n'), 53)).toBe(true);
  });
});
