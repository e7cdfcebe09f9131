"""One IMAP session with Python's imaplib, an independent client, for
imap_python_test.go. It prints what the server answered as JSON; the Go
test holds the assertions.

Usage: imap_session.py MODE HOST PORT USER PASSWORD
MODE: plain (LOGIN over loopback), starttls (RFC 9051 section 6.2.1) or
imaps (implicit TLS, RFC 8314). Certificates are not verified: the server
uses a self-signed test certificate.

The mailbox must hold, in this order: a plain ASCII message from
sender@remote.test, a message whose RFC 2047 subject contains "Köln" and
whose UTF-8 body contains "Straße", and a multipart message.
"""

import base64
import imaplib
import json
import ssl
import sys


def fetch_literal(dat):
    """The literal of the first FETCH response in an imaplib result."""
    for item in dat:
        if isinstance(item, tuple):
            return item[1]
    raise SystemExit("no literal in FETCH response %r" % (dat,))


def fetch_lines(dat):
    """FETCH responses without literals, as text."""
    out = []
    for item in dat:
        if isinstance(item, bytes):
            out.append(item.decode("utf-8", "replace"))
        elif isinstance(item, tuple):
            out.append(item[0].decode("utf-8", "replace"))
    return out


def main():
    mode, host, port, user, password = sys.argv[1:6]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if mode == "imaps":
        m = imaplib.IMAP4_SSL(host, int(port), ssl_context=ctx, timeout=60)
    else:
        m = imaplib.IMAP4(host, int(port), timeout=60)
    out = {"welcome": m.welcome.decode(), "caps_before": list(m.capabilities)}
    if mode == "starttls":
        typ, _ = m.starttls(ssl_context=ctx)
        out["starttls"] = typ
    out["tls"] = isinstance(m.sock, ssl.SSLSocket)

    typ, _ = m.login(user, password)
    out["login"] = typ
    typ, dat = m.list()
    out["list"] = [d.decode() for d in dat]
    typ, dat = m.select("INBOX")
    out["select_exists"] = int(dat[0])

    typ, dat = m.search(None, "ALL")
    out["search_all"] = dat[0].decode().split()
    typ, dat = m.search(None, "FROM", '"sender@remote.test"')
    out["search_from"] = dat[0].decode().split()
    # RFC 9051 section 6.4.4: CHARSET UTF-8 with the non-ASCII string sent
    # as a literal (imaplib appends m.literal as the last argument).
    m.literal = "Köln".encode("utf-8")
    typ, dat = m.search("UTF-8", "SUBJECT")
    out["search_subject_utf8"] = dat[0].decode().split()
    m.literal = "Straße".encode("utf-8")
    typ, dat = m.search("UTF-8", "BODY")
    out["search_body_utf8"] = dat[0].decode().split()

    typ, dat = m.fetch("1", "(RFC822)")
    out["rfc822_1"] = base64.b64encode(fetch_literal(dat)).decode()
    typ, dat = m.fetch("2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    out["subject_2"] = base64.b64encode(fetch_literal(dat)).decode()
    typ, dat = m.fetch("3", "(BODYSTRUCTURE)")
    out["bodystructure_3"] = fetch_lines(dat)
    typ, dat = m.fetch("1:3", "(FLAGS)")
    out["flags_after_fetch"] = fetch_lines(dat)

    typ, dat = m.store("2", "+FLAGS", "(\\Flagged)")
    out["store"] = fetch_lines(dat)
    typ, dat = m.copy("1:2", "Archive")
    out["copy"] = [typ] + [d.decode() for d in dat if d]
    typ, dat = m.store("1", "+FLAGS.SILENT", "(\\Deleted)")
    typ, dat = m.expunge()
    out["expunge"] = [d.decode() for d in dat if d]
    typ, dat = m.search(None, "FLAGGED")
    out["search_flagged"] = dat[0].decode().split()
    typ, dat = m.status("Archive", "(MESSAGES)")
    out["status_archive"] = dat[0].decode()
    typ, dat = m.fetch("1:*", "(UID FLAGS)")
    out["final"] = fetch_lines(dat)
    typ, _ = m.logout()
    out["logout"] = typ
    print(json.dumps(out))


if __name__ == "__main__":
    main()
