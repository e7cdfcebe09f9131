"""POP3 peer for mailport's end-to-end tests: Python's poplib drives one
scenario and prints what it saw as JSON on stdout; the Go test asserts.

usage: pop3_session.py MODE HOST PORT USER PASSWORD
  MODE plain   USER/PASS over plain TCP (the server allows it on loopback)
       stls    STLS first (RFC 2595), then USER/PASS inside TLS
       pop3s   implicit TLS on the POP3S port (RFC 8314)

Session 1: CAPA, USER/PASS, STAT, LIST, UIDL, RETR 1, TOP 2 0, DELE 1, QUIT.
Session 2: USER/PASS, STAT, UIDL, QUIT (shows the deletion took effect).
Session 3: a wrong password, which must be refused.
The server's certificate is self-signed, so it is not verified.
"""
import json
import poplib
import ssl
import sys


def text(b):
    return b.decode("latin-1")


def main():
    mode, host, port, user, password = sys.argv[1:6]
    port = int(port)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    def connect():
        if mode == "pop3s":
            return poplib.POP3_SSL(host, port, context=ctx, timeout=20)
        c = poplib.POP3(host, port, timeout=20)
        if mode == "stls":
            c.stls(context=ctx)
        return c

    out = {}
    c = connect()
    out["welcome"] = text(c.getwelcome())
    out["capa"] = sorted(c.capa().keys())
    out["tls"] = isinstance(c.sock, ssl.SSLSocket)
    c.user(user)
    c.pass_(password)
    out["stat"] = list(c.stat())
    _, lines, _ = c.list()
    out["list"] = [text(l) for l in lines]
    _, lines, _ = c.uidl()
    out["uidl"] = [text(l) for l in lines]
    _, lines, octets = c.retr(1)
    out["retr1"] = "\r\n".join(text(l) for l in lines)
    out["retr1_octets"] = octets
    _, lines, _ = c.top(2, 0)
    out["top2"] = [text(l) for l in lines]
    out["dele1"] = text(c.dele(1))
    out["quit1"] = text(c.quit())

    c = connect()
    c.user(user)
    c.pass_(password)
    out["stat_after"] = list(c.stat())
    _, lines, _ = c.uidl()
    out["uidl_after"] = [text(l) for l in lines]
    c.quit()

    c = connect()
    c.user(user)
    try:
        c.pass_(password + "-wrong")
        out["bad_login"] = "accepted"
    except poplib.error_proto as e:
        out["bad_login"] = str(e)
    try:
        c.quit()
    except (poplib.error_proto, OSError):
        pass

    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
