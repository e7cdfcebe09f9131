// A small authoritative DNS server over UDP for the browser tests: mailport
// under test is pointed at it ([dns] servers), so a domain's "Check DNS" asks
// real DNS questions and the tests decide what is published. Without it the
// check would go to this machine's resolver, which may be unreachable here.
//
// It answers A, MX, TXT and SRV from an in-memory zone (RFC 1035 section 4,
// RFC 2782 for SRV); a name it knows without the asked type gets an empty
// answer (NODATA), any other name NXDOMAIN. It listens on UDP and TCP on the
// same port: a UDP reply over 512 bytes (a DKIM key) is sent truncated (TC)
// and the resolver asks again over TCP (RFC 1035 section 4.2).

import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const types = { A: 1, MX: 15, TXT: 16, SRV: 33 };
const classIN = 1;
const maxUDP = 512;

/** normalize is the zone's key form: lower case, no trailing dot. */
const normalize = (name) => name.toLowerCase().replace(/\.$/, '');

/**
 * startDNSServer listens on 127.0.0.1 (any free port) and resolves to
 * { addr: "127.0.0.1:PORT", set(name, type, values), clear(name), close() }.
 * set replaces the records of one type: A "192.0.2.1", MX "10 mx.example",
 * TXT "v=spf1 mx -all", SRV "0 1 993 host.example".
 */
export async function startDNSServer() {
  /** @type {Map<string, Map<string, string[]>>} name -> type -> values */
  const zone = new Map();
  const conns = new Set();
  const tcp = createServer((conn) => {
    conns.add(conn);
    conn.on('close', () => conns.delete(conn));
    serveTCP(zone, conn);
  });
  await new Promise((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(0, '127.0.0.1', resolve);
  });
  const { port } = tcp.address();
  const sock = createSocket('udp4');
  sock.on('message', (msg, peer) => {
    const reply = answer(zone, msg, maxUDP);
    if (reply) sock.send(reply, peer.port, peer.address);
  });
  try {
    await new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, '127.0.0.1', resolve);
    });
  } catch (err) {
    tcp.close();
    throw new Error(`dns-server: UDP port ${port} (free on TCP) is taken: ${err.message}`);
  }
  return {
    addr: `127.0.0.1:${port}`,
    set(name, type, values) {
      if (!(type in types)) throw new Error(`dns-server: type ${type} is not served`);
      const key = normalize(name);
      if (!zone.has(key)) zone.set(key, new Map());
      zone.get(key).set(type, [...values]);
    },
    clear(name) {
      zone.delete(normalize(name));
    },
    close: async () => {
      await new Promise((resolve) => sock.close(() => resolve()));
      for (const c of conns) c.destroy();
      await new Promise((resolve) => tcp.close(() => resolve()));
    },
  };
}

/** serveTCP answers queries framed by a two-byte length (RFC 1035 section 4.2.2). */
function serveTCP(zone, conn) {
  let buf = Buffer.alloc(0);
  conn.on('error', () => conn.destroy());
  conn.on('data', (data) => {
    buf = Buffer.concat([buf, data]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
      buf = buf.subarray(2 + msg.length);
      const reply = answer(zone, msg, 0xffff);
      if (!reply) return conn.destroy();
      conn.write(Buffer.concat([u16(reply.length), reply]));
    }
  });
}

/**
 * answer builds the reply to one query, or null for what is not a query; a
 * reply longer than max is sent truncated.
 */
function answer(zone, msg, max) {
  if (msg.length < 12 || msg[2] & 0x80) return null; // too short, or a response
  const id = msg.readUInt16BE(0);
  const rd = msg[2] & 0x01;
  if (msg.readUInt16BE(4) !== 1) return header(id, rd, 1 /* FORMERR */, 0, 0);
  let q;
  try {
    q = readQuestion(msg, 12);
  } catch {
    return header(id, rd, 1, 0, 0);
  }
  const question = msg.subarray(12, q.end);
  const records = zone.get(normalize(q.name));
  if (!records) return Buffer.concat([header(id, rd, 3 /* NXDOMAIN */, 1, 0), question]);
  const typeName = Object.keys(types).find((t) => types[t] === q.type);
  const values = (typeName && q.class === classIN && records.get(typeName)) || [];
  const rrs = values.map((v) => resourceRecord(q.type, rdata(typeName, v)));
  const reply = Buffer.concat([header(id, rd, 0, 1, rrs.length), question, ...rrs]);
  if (reply.length <= max) return reply;
  const truncated = Buffer.concat([header(id, rd, 0, 1, 0), question]);
  truncated[2] |= 0x02; // TC: RFC 1035 section 4.1.1
  return truncated;
}

/** header is a response header: QR and AA set, RD copied, RA clear. */
function header(id, rd, rcode, qdcount, ancount) {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h[2] = 0x84 | rd;
  h[3] = rcode;
  h.writeUInt16BE(qdcount, 4);
  h.writeUInt16BE(ancount, 6);
  return h;
}

/** readQuestion reads QNAME, QTYPE, QCLASS at off (queries use no compression). */
function readQuestion(msg, off) {
  const labels = [];
  for (;;) {
    const len = msg[off];
    if (len === undefined || len > 63) throw new Error('bad label');
    off++;
    if (len === 0) break;
    labels.push(msg.toString('latin1', off, off + len));
    off += len;
  }
  if (off + 4 > msg.length) throw new Error('short question');
  return { name: labels.join('.'), type: msg.readUInt16BE(off), class: msg.readUInt16BE(off + 2), end: off + 4 };
}

/** resourceRecord answers for the question's name (a pointer to offset 12). */
function resourceRecord(type, data) {
  const rr = Buffer.alloc(12);
  rr.writeUInt16BE(0xc00c, 0);
  rr.writeUInt16BE(type, 2);
  rr.writeUInt16BE(classIN, 4);
  rr.writeUInt32BE(60, 6);
  rr.writeUInt16BE(data.length, 10);
  return Buffer.concat([rr, data]);
}

function encodeName(name) {
  const parts = normalize(name).split('.').filter(Boolean);
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])), Buffer.from([0])]);
}

function u16(n) {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function rdata(type, value) {
  switch (type) {
    case 'A':
      return Buffer.from(value.split('.').map(Number));
    case 'MX': {
      const [pref, host] = value.trim().split(/\s+/);
      return Buffer.concat([u16(Number(pref)), encodeName(host)]);
    }
    case 'TXT': {
      // One record may hold several character-strings of up to 255 bytes.
      const bytes = Buffer.from(value, 'utf8');
      const chunks = [];
      for (let i = 0; i < bytes.length || i === 0; i += 255) {
        const part = bytes.subarray(i, i + 255);
        chunks.push(Buffer.from([part.length]), part);
      }
      return Buffer.concat(chunks);
    }
    case 'SRV': {
      const [prio, weight, port, target] = value.trim().split(/\s+/);
      return Buffer.concat([u16(Number(prio)), u16(Number(weight)), u16(Number(port)), encodeName(target)]);
    }
  }
  throw new Error(`dns-server: type ${type} is not served`);
}
