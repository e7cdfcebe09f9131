// Package delivery is mailport's inbound pipeline: it takes a message and
// its envelope from a protocol front end (SMTP now; IMAP APPEND, sieve
// redirects and LMTP later), writes it once to a blob, parses it once, and
// stores one copy per local recipient through the group Committer.
//
// # Pipeline
//
// A Deliverer runs named Stages in order over one *Delivery:
//
//   - "received": builds the trace fields of RFC 5321 section 4.4
//     (Return-Path and Received) into Delivery.Header. Nothing is written
//     yet; the fields are known before the content is.
//   - "spool": streams Header followed by the DATA stream into one blob
//     (blob.Put: temp file, fsync, rename), so the message is written
//     exactly once, then parses that blob once (Parser) for the envelope
//     and body structure IMAP serves without re-reading the message.
//   - "store": resolves each recipient's target folder (INBOX unless an
//     earlier stage chose one), gives every further recipient the same
//     content by blob.Link (a hard link, not a copy) and commits all copies
//     through the Committer. A 250 is only given after this returns.
//
// Further stages plug in with Deliverer.InsertBefore:
//
//   - stages that need the whole content before it is stored go before
//     "spool" and read it through Delivery.Content: the first such call
//     copies the client's stream into an unsynced temporary file, and
//     "spool" then writes Header plus that copy into the blob, so the
//     message is still fsynced once and parsed once, and the fields these
//     stages add to Header land in front of the content. "authres"
//     (AuthResults: SPF, DKIM and DMARC of inbound mail, the
//     Authentication-Results field of RFC 8601, 550 5.7.1 on a DMARC
//     p=reject failure) and "dkim" (DKIMSign: signs submitted mail) work
//     this way, as does smtpd's From check of submissions.
//   - "outbound" (OutboundStage) goes before "store": it queues the
//     spooled message for remote, forwarded and relayed recipients
//     (Delivery.OpenRelayCopy leaves out Return-Path). Once every stage
//     has run (Finisher) it also queues the success notice of RFC 3461
//     the delivery owes (Delivery.Successes): "delivered" for mailboxes
//     whose NOTIFY has SUCCESS, "expanded" for aliases with several
//     targets (Expansion), before the client hears 250.
//   - antispam goes between "spool" and "store"; sieve right before
//     "store": it sets Recipient.MailboxID (fileinto), Recipient.Flags,
//     drops recipients (discard) or adds remote ones.
//
// # Errors
//
// Errors carry their protocol meaning where they arise (*Error holds the
// SMTP reply code and RFC 3463 enhanced code), so the protocol layers only
// render them. Storage failures become 451 4.3.0.
package delivery
