package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"mailport/internal/queue"
	"mailport/internal/server"
)

// openQueue opens the outbound queue of the data directory. It works while
// `mailport serve` runs: the queue file is SQLite in WAL mode, and a
// running server re-reads it every couple of seconds, so `retry` here
// reaches it.
func openQueue(core *server.Core) (*queue.Queue, error) {
	return queue.New(queue.Config{
		Dir:      core.Config.Dir,
		Blobs:    core.Blobs,
		Hostname: core.Config.Hostname,
		SMTPPort: core.Config.Queue.SMTPPort,
		Logger:   core.Logger,
	})
}

func cmdQueue(c *cli, args []string) error {
	withQueue := func(fn func(c *cli, q *queue.Queue, a []string) error) func(c *cli, core *server.Core, a []string) error {
		return func(c *cli, core *server.Core, a []string) error {
			q, err := openQueue(core)
			if err != nil {
				return err
			}
			defer q.Close()
			return fn(c, q, a)
		}
	}
	return c.dispatch("queue", []verb{
		{name: "list", min: 0, max: 0, run: withQueue(func(c *cli, q *queue.Queue, a []string) error {
			es, err := q.List(c.ctx)
			if err != nil {
				return err
			}
			now := time.Now()
			rows := [][]string{{"ID", "AGE", "FROM", "RECIPIENTS", "ATTEMPTS", "NEXT", "LAST ERROR"}}
			for _, e := range es {
				var rcpts []string
				for _, r := range e.Recipients {
					rcpts = append(rcpts, r.Address+" ("+string(r.State)+")")
				}
				rows = append(rows, []string{e.ID, age(now, e.Created), sender(e.From), strings.Join(rcpts, ", "),
					strconv.Itoa(e.Attempts), next(now, e.NextAttempt), e.LastError})
			}
			c.table(rows)
			return nil
		})},
		{name: "show", usage: "ID", min: 1, max: 1, run: withQueue(func(c *cli, q *queue.Queue, a []string) error {
			e, err := q.Get(c.ctx, a[0])
			if err != nil {
				return err
			}
			now := time.Now()
			w := c.stdout
			fmt.Fprintf(w, "id:           %s\n", e.ID)
			fmt.Fprintf(w, "from:         %s\n", sender(e.From))
			fmt.Fprintf(w, "created:      %s (%s ago)\n", e.Created.UTC().Format(time.RFC3339), age(now, e.Created))
			fmt.Fprintf(w, "size:         %d\n", e.Size)
			fmt.Fprintf(w, "attempts:     %d\n", e.Attempts)
			fmt.Fprintf(w, "next attempt: %s (%s)\n", e.NextAttempt.UTC().Format(time.RFC3339), next(now, e.NextAttempt))
			fmt.Fprintf(w, "dkim signed:  %t\n", e.DKIMSigned)
			fmt.Fprintf(w, "dsn sent:     %t\n", e.DSNSent)
			if e.LastError != "" {
				fmt.Fprintf(w, "last error:   %s\n", e.LastError)
			}
			fmt.Fprintln(w, "recipients:")
			for _, r := range e.Recipients {
				fmt.Fprintf(w, "  %s  %s  attempts %d", r.Address, r.State, r.Attempts)
				if r.Status != "" {
					fmt.Fprintf(w, "  status %s", r.Status)
				}
				if r.RemoteMTA != "" {
					fmt.Fprintf(w, "  remote %s", r.RemoteMTA)
				}
				fmt.Fprintln(w)
				if r.LastError != "" {
					fmt.Fprintf(w, "    last error: %s\n", r.LastError)
				}
			}
			return nil
		})},
		{name: "retry", usage: "ID", min: 1, max: 1, run: withQueue(func(c *cli, q *queue.Queue, a []string) error {
			if err := q.Retry(c.ctx, a[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "queue entry %s is due now\n", a[0])
			return nil
		})},
		{name: "remove", usage: "ID", min: 1, max: 1, run: withQueue(func(c *cli, q *queue.Queue, a []string) error {
			if err := q.Remove(c.ctx, a[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "queue entry %s removed\n", a[0])
			return nil
		})},
	}, args)
}

func sender(from string) string {
	if from == "" {
		return "<>"
	}
	return from
}

func age(now, t time.Time) string {
	return now.Sub(t).Round(time.Second).String()
}

func next(now, t time.Time) string {
	if !t.After(now) {
		return "now"
	}
	return "in " + t.Sub(now).Round(time.Second).String()
}
