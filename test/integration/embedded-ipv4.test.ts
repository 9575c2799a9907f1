import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Network } from '../../src/net/connect.js';
import { HttpClient } from '../../src/net/http.js';
import { AddressPolicy } from '../../src/net/policy.js';
import { resolvingTo } from '../helpers/fakes.js';

// Loopback world of this file: an HTTP listener on 127.0.8.10 (allow-listed via 127.0.8.0/24) that
// records the peer address of every connection. DNS is a fake answering AAAA-style text.
const LISTEN = '127.0.8.10';

describe('the socket connects to exactly the address the policy judged', () => {
  let server: http.Server;
  let port: number;
  const peers: string[] = [];

  before(async () => {
    server = http.createServer((request, response) => {
      peers.push(request.socket.localAddress ?? '');
      response.end('<ok/>');
    });
    await new Promise<void>((resolve) => server.listen(0, LISTEN, resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const network = (records: string[]) => new Network(resolvingTo(...records), new AddressPolicy(['127.0.8.0/24']));

  it('Network.connect refuses an IPv4-compatible answer (::127.0.8.10 is ::7f00:80a, not 127.0.8.10)', async () => {
    for (const record of ['::127.0.8.10', '::7f00:80a', '0:0:0:0:0:0:127.0.8.10']) {
      const result = await network([record]).connect({ host: 'compat.e.test', port, timeoutMs: 1000 });
      if (result.ok) result.socket.destroy();
      assert.equal(result.ok, false, record);
      if (!result.ok) {
        assert.equal(result.code, 'forbidden_target', record);
        assert.equal(result.address, null, 'a refused address is never reported');
      }
    }
  });

  it('Network.connect goes to the IPv4 address an IPv4-mapped answer was judged as', async () => {
    for (const record of ['::ffff:127.0.8.10', '::FFFF:7F00:80A', '0000:0000:0000:0000:0000:ffff:7f00:080a']) {
      const result = await network([record]).connect({ host: 'mapped.e.test', port, timeoutMs: 1000 });
      assert.equal(result.ok, true, record);
      if (result.ok) {
        assert.equal(result.address, LISTEN);
        assert.equal(result.socket.remoteAddress, LISTEN);
        result.socket.destroy();
      }
    }
  });

  it("HttpClient's connector refuses an IPv4-compatible answer and never connects", async () => {
    const client = new HttpClient({ network: network(['::127.0.8.10']), timeoutMs: 1000, allowedPorts: [port] });
    const before = peers.length;
    const result = await client.get(`http://compat.e.test:${port}/`);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.code, 'blocked');
    assert.equal(peers.length, before);
  });

  it("HttpClient's connector connects to the IPv4 address of an IPv4-mapped answer", async () => {
    const client = new HttpClient({ network: network(['::ffff:7f00:80a']), timeoutMs: 1000, allowedPorts: [port] });
    const result = await client.get(`http://mapped.e.test:${port}/`);
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(peers.at(-1), LISTEN);
  });

  it('HttpClient refuses an IPv4-compatible IP-literal URL', async () => {
    const client = new HttpClient({ network: network([]), timeoutMs: 1000, allowedPorts: [port] });
    const result = await client.get(`http://[::127.0.8.10]:${port}/`);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.code, 'blocked');
  });
});
