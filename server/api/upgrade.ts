import type { Duplex } from 'node:stream';

/** Answers a websocket upgrade with an HTTP error and the API's error body, then closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, text: string, error?: { code: string; message: string }) {
  const body = JSON.stringify({ error: error ?? { code: text.toUpperCase().replace(/ /g, '_'), message: text } });
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
