// A minimal SMTP client for the browser tests: it hands one message to the
// server under test over plain SMTP (RFC 5321 section 3.3), so tests can put
// mail in mailboxes and messages in the queue the way the world does.

import { connect, createServer } from 'node:net';

/**
 * sendMail connects to addr ("host:port"), sends one message from from to
 * rcpts and resolves to the server's answer to the final dot. Any answer
 * other than the expected 2xx/3xx rejects with the dialogue so far.
 */
export async function sendMail(addr, { from, to, subject = 'test', body = 'Hello.' }) {
  const i = addr.lastIndexOf(':');
  const sock = connect(Number(addr.slice(i + 1)), addr.slice(0, i));
  sock.setEncoding('utf8');
  let buf = '';
  let failure;
  const waiting = [];
  const wake = () => waiting.splice(0).forEach((w) => w());
  sock.on('data', (d) => {
    buf += d;
    wake();
  });
  sock.on('error', (err) => {
    failure = err;
    wake();
  });
  sock.on('close', () => {
    failure ??= new Error('the server closed the connection');
    wake();
  });
  const transcript = [];

  // reply waits for a complete reply: the last line has a space after the
  // code (RFC 5321 section 4.2.1).
  async function reply() {
    for (;;) {
      const m = /^(?:\d{3}-.*\r\n)*\d{3} .*\r\n/.exec(buf);
      if (m) {
        buf = buf.slice(m[0].length);
        transcript.push(`S: ${m[0].trimEnd()}`);
        return m[0];
      }
      if (failure) throw new Error(`SMTP: ${failure.message}\n${transcript.join('\n')}`);
      await new Promise((r) => waiting.push(r));
    }
  }

  async function step(line, expect) {
    if (line !== undefined) {
      transcript.push(`C: ${line.split('\r\n')[0]}`);
      sock.write(`${line}\r\n`);
    }
    const r = await reply();
    if (!r.startsWith(expect)) throw new Error(`SMTP: expected ${expect}, got ${r}\n${transcript.join('\n')}`);
    return r.trimEnd();
  }

  try {
    await step(undefined, '220');
    await step('EHLO client.test', '250');
    await step(`MAIL FROM:<${from}>`, '250');
    for (const r of [to].flat()) await step(`RCPT TO:<${r}>`, '250');
    await step('DATA', '354');
    // RFC 5321 section 4.5.2: a line starting with a dot gets another one.
    const text = body.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    const message = `From: <${from}>\r\nTo: <${[to].flat().join('>, <')}>\r\nSubject: ${subject}\r\n\r\n${text}\r\n.`;
    const done = await step(message, '250');
    await step('QUIT', '221');
    return done;
  } finally {
    sock.destroy();
  }
}

/** closedPort is a loopback port nothing listens on (bound, then released). */
export async function closedPort() {
  const srv = createServer();
  await new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}
