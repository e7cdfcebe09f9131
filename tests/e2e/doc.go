// Package e2e holds mailport's end-to-end tests. They start the whole
// server (in-process through server.Start, or the built binary as a child
// process) on loopback ports and drive it with independent clients: swaks
// for SMTP, Debian's Python poplib for POP3, and Go code over raw sockets.
//
// Peer programs come from Debian packages. When one is missing the test is
// skipped, except under CI=true, where a missing peer fails the test with
// the package to install (DEVELOPERS.md).
package e2e
