"""Drive mailport's IMAP server with Python's imaplib (an independent
client) and print what it saw as JSON for the Go test to check.

usage: imaplib_client.py HOST PORT USER PASSWORD
"""
import imaplib
import json
import sys

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
out = {}
m = imaplib.IMAP4(host, port)
out["login"] = m.login(user, password)[0]
typ, data = m.list()
out["list"] = [d.decode() for d in data]
msg = b"From: py@example.com\r\nTo: mjl@example.org\r\nSubject: from imaplib\r\n\r\nHello from Python.\r\n"
typ, data = m.append("INBOX", "(\\Flagged)", None, msg)
out["append"] = [typ, data[0].decode()]
typ, data = m.select("INBOX")
out["select"] = [typ, data[0].decode()]
typ, data = m.search(None, "FLAGGED")
out["search"] = data[0].decode()
typ, data = m.fetch("1", "(RFC822)")
out["fetch"] = data[0][1].decode()
typ, data = m.store("1", "+FLAGS", "(\\Deleted)")
out["store"] = data[0].decode()
typ, data = m.copy("1", "Archive")
out["copy"] = typ
typ, data = m.expunge()
out["expunge"] = [d.decode() for d in data if d]
typ, data = m.status("Archive", "(MESSAGES)")
out["status"] = data[0].decode()
m.logout()
print(json.dumps(out))
