// The response PUT settles on every socket failure within its timeout, against a loopback
// server that misbehaves in each way a network can.
import * as net from 'net';
import type { AddressInfo } from 'net';
import { sendResponse } from '../lambda/response';

type Behaviour = (socket: net.Socket) => void;

/** A raw TCP server: `behaviour` decides what each connection gets once the request arrives. */
async function server(
  behaviour: Behaviour,
): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => behaviour(socket));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/response?X-Amz-Signature=abc`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
const TIMEOUT_MS = 300;

const behaviours: [string, Behaviour][] = [
  ['closes the connection at once (aborted)', (s) => s.destroy()],
  ['resets the connection (RST)', (s) => s.resetAndDestroy()],
  ['ends the connection without a response', (s) => s.end()],
  [
    'sends headers then drops the socket',
    (s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n');
      setTimeout(() => s.destroy(), 20);
    },
  ],
  [
    'sends headers and half the body, then resets',
    (s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
      setTimeout(() => s.resetAndDestroy(), 20);
    },
  ],
  [
    'sends a chunked body and ends the socket before the last chunk',
    (s) => {
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
      setTimeout(() => s.end(), 20);
    },
  ],
  ['never answers', () => undefined],
  [
    'trickles a byte at a time, never finishing',
    (s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
      const drip = setInterval(() => (s.destroyed ? clearInterval(drip) : s.write('x')), 50);
    },
  ],
  ['answers garbage', (s) => s.end('NOT HTTP AT ALL\r\n\r\n')],
  ['answers HTTP 403', (s) => s.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')],
];

test.each(behaviours)('settles false within its timeout when the server %s', async (_name, behaviour) => {
  // GIVEN
  const srv = await server(behaviour);
  try {
    // WHEN two attempts are allowed
    const started = Date.now();
    const delivered = await sendResponse(srv.url, '{"Status":"SUCCESS"}', {
      attempts: 2,
      baseDelayMs: 10,
      timeoutMs: TIMEOUT_MS,
    });

    // THEN it gave up after both, within their timeouts
    expect(delivered).toBe(false);
    expect(srv.connections()).toBe(2);
    expect(Date.now() - started).toBeLessThan(2 * TIMEOUT_MS + 10 + 400);
  } finally {
    await srv.close();
  }
});

test('a server that fails once, then answers, gets the response on the retry', async () => {
  let n = 0;
  const srv = await server((s) => (++n === 1 ? s.resetAndDestroy() : s.end(OK)));
  try {
    expect(await sendResponse(srv.url, '{}', { attempts: 3, baseDelayMs: 10, timeoutMs: TIMEOUT_MS })).toBe(true);
    expect(srv.connections()).toBe(2);
  } finally {
    await srv.close();
  }
});

test('a closed port settles false at once', async () => {
  const srv = await server(() => undefined);
  const url = srv.url;
  await srv.close();
  const started = Date.now();
  expect(await sendResponse(url, '{}', { attempts: 2, baseDelayMs: 10, timeoutMs: TIMEOUT_MS })).toBe(false);
  expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
});
