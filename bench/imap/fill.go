package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"mailport/internal/blob"
	"mailport/internal/config"
	"mailport/internal/delivery"
	"mailport/internal/store"
	"mailport/internal/store/sqlite"
)

// fill adds n small messages to a user's INBOX through the store, as
// delivery does (blob, parse, AppendMessages in batches), but without the
// network: the fast way to a 100,000-message mailbox. The server must be
// stopped. Only `distinct` different blobs are written (each fsynced by
// blob.Put); message i shares blob i%distinct, as copies do, so that
// filling does not take 100,000 fsyncs. Every message has its own row,
// UID, MODSEQ and flags, which is what SELECT and UID FETCH FLAGS read.
func fill(args []string) error {
	fs := flag.NewFlagSet("fill", flag.ExitOnError)
	data := fs.String("data", "", "mailport data directory")
	user := fs.String("user", "", "address of the mailbox")
	n := fs.Int("n", 100000, "messages")
	distinct := fs.Int("distinct", 1000, "different message blobs")
	batch := fs.Int("batch", 2000, "messages per AppendMessages transaction")
	fs.Parse(args)
	if *data == "" || *user == "" || *n <= 0 || *distinct <= 0 || *batch <= 0 {
		return errors.New("fill needs --data, --user and positive --n, --distinct, --batch")
	}
	ctx := context.Background()
	cfg, err := config.Load(*data)
	if err != nil {
		return err
	}
	db, err := sqlite.Open(ctx, cfg.Path(cfg.Database.DSN))
	if err != nil {
		return err
	}
	defer db.Close()
	blobs, err := blob.Open(cfg.Path("blobs"))
	if err != nil {
		return err
	}
	acct, err := db.GetAccountByAddress(ctx, strings.ToLower(*user))
	if err != nil {
		return fmt.Errorf("mailbox %s: %w", *user, err)
	}
	inbox, err := db.GetMailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		return fmt.Errorf("INBOX of %s: %w", *user, err)
	}

	start := time.Now()
	protos := make([]store.NewMessage, *distinct)
	var ids []string
	for i := range protos {
		msg := fmt.Sprintf("From: Sender %d <sender%d@remote.test>\r\nTo: %s\r\nSubject: big mailbox message %d\r\n"+
			"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <big-%d@bench.test>\r\n\r\nA small message, number %d.\r\n",
			i, i, *user, i, i, i)
		id, size, err := blobs.Put(ctx, strings.NewReader(msg), 0)
		if err != nil {
			return err
		}
		ids = append(ids, id)
		parsed, err := delivery.MIMEParser.Parse(bytes.NewReader([]byte(msg)))
		if err != nil {
			return fmt.Errorf("parse message %d: %w", i, err)
		}
		protos[i] = store.NewMessage{
			MailboxID: inbox.ID, Size: size, BlobID: id,
			Envelope: parsed.Envelope, Structure: parsed.Structure,
			HeaderText: parsed.HeaderText, BodyText: parsed.BodyText,
			IgnoreQuota: true,
		}
	}
	if err := blobs.Sync(ids...); err != nil {
		return err
	}
	date := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for done := 0; done < *n; {
		var msgs []store.NewMessage
		for ; done < *n && len(msgs) < *batch; done++ {
			m := protos[done%*distinct]
			m.InternalDate = date.Add(time.Duration(done) * time.Second)
			// Varied flags, so FETCH FLAGS has something to say.
			switch {
			case done%7 == 0:
				m.Flags = []string{store.FlagSeen, store.FlagFlagged}
			case done%3 == 0:
				m.Flags = []string{store.FlagSeen}
			}
			msgs = append(msgs, m)
		}
		res, err := db.AppendMessages(ctx, msgs)
		if err != nil {
			return fmt.Errorf("append batch ending at %d: %w", done, err)
		}
		for _, r := range res {
			if r.Err != nil {
				return fmt.Errorf("append: %w", r.Err)
			}
		}
	}
	fmt.Printf("filled %s INBOX with %d messages (%d distinct blobs) in %.1fs\n", *user, *n, *distinct, time.Since(start).Seconds())
	return nil
}
