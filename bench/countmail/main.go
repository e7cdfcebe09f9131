// Command countmail is a helper of bench/smtp-inbound.sh: it opens a
// mailport data directory's database through the store (the same code the
// server uses, so it follows schema changes) and prints how many messages
// the INBOX of each given mailbox holds, after running the store's
// integrity check. The benchmark uses it to prove that every message that
// got a 250 was really stored.
//
// Usage: countmail --data DIR ADDRESS...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"mailport/internal/config"
	"mailport/internal/store/sqlite"
)

func main() {
	data := flag.String("data", "", "mailport data directory")
	flag.Parse()
	if *data == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: countmail --data DIR ADDRESS...")
		os.Exit(2)
	}
	if err := run(context.Background(), *data, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "countmail:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string, addrs []string) error {
	cfg, err := config.Load(dir)
	if err != nil {
		return err
	}
	db, err := sqlite.Open(ctx, cfg.Path(cfg.Database.DSN))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Check(ctx); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	for _, a := range addrs {
		acct, err := db.GetAccountByAddress(ctx, strings.ToLower(a))
		if err != nil {
			return fmt.Errorf("mailbox %s: %w", a, err)
		}
		mb, err := db.GetMailbox(ctx, acct.ID, "INBOX")
		if err != nil {
			return fmt.Errorf("INBOX of %s: %w", a, err)
		}
		// Count the rows, not only the cached counter, so a counter bug
		// cannot hide a lost message.
		msgs, err := db.ListMessages(ctx, mb.ID)
		if err != nil {
			return fmt.Errorf("list INBOX of %s: %w", a, err)
		}
		if uint32(len(msgs)) != mb.Messages {
			return fmt.Errorf("INBOX of %s: %d message rows but counter says %d", a, len(msgs), mb.Messages)
		}
		fmt.Printf("%s %d\n", a, len(msgs))
	}
	return nil
}
