// Command imap is the load generator of bench/imap.sh. It speaks IMAP
// itself (a minimal client over raw sockets, the same bytes for every
// server) so that mailport and Dovecot are measured with one tool.
//
// Subcommands:
//
//	populate --addr A --user U --pass P --corpus DIR --n 2000 [--workers 8]
//	    APPEND the first n corpus messages (mbox "From " line removed,
//	    CRLF line ends) to INBOX.
//	load --addr A --user U --pass P [--clients 10] [--scale 1]
//	    run the workload phases (login, select, fetch headers, fetch
//	    bodies, store, search, append, idle) with concurrent clients and
//	    print "RESULT op ops seconds" lines.
//	idlemem --addr A --user-format bench%d@example.test --users 50
//	        --per-user 20 --pass P --pid PID [--ips 20] [--login-concurrency 2]
//	    open users*per-user logged-in connections that SELECT INBOX and
//	    IDLE, and print the resident memory of PID and its descendants
//	    before and after ("RESULT idlemem ...").
//	big --addr A --user U --pass P
//	    time SELECT INBOX and UID FETCH 1:* (FLAGS) ("RESULT big ...").
//	fill --data DIR --user U --n 100000 [--distinct 1000]
//	    add n small messages to INBOX of a stopped mailport through its
//	    store (AppendMessages batches), the fast path for the big mailbox.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: imap populate|load|idlemem|big|fill [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "populate":
		err = populate(os.Args[2:])
	case "load":
		err = load(os.Args[2:])
	case "idlemem":
		err = idleMem(os.Args[2:])
	case "big":
		err = big(os.Args[2:])
	case "fill":
		err = fill(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imap bench:", err)
		os.Exit(1)
	}
}

// ioTimeout bounds every read and write so a stuck server fails the run.
const ioTimeout = 120 * time.Second

// conn is one IMAP connection.
type conn struct {
	c   net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	tag int
}

// dial connects from localIP (when set) and reads the greeting.
func dial(addr, localIP string) (*conn, error) {
	d := net.Dialer{Timeout: 30 * time.Second}
	if localIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(localIP)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	ic := &conn{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 16<<10)}
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	l, err := ic.r.ReadString('\n')
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if !strings.HasPrefix(l, "* OK") {
		c.Close()
		return nil, fmt.Errorf("greeting %q", strings.TrimSpace(l))
	}
	return ic, nil
}

func (c *conn) Close() error { return c.c.Close() }

// response reads one response line with its literals and returns the
// line (literals left out) and the number of bytes read.
func (c *conn) response() (string, int, error) {
	c.c.SetReadDeadline(time.Now().Add(ioTimeout))
	var line strings.Builder
	n := 0
	for {
		l, err := c.r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return "", n, err
		}
		n += len(l)
		if errors.Is(err, bufio.ErrBufferFull) {
			if line.Len() < 4096 {
				line.Write(l)
			}
			continue
		}
		s := strings.TrimRight(string(l), "\r\n")
		if line.Len() < 4096 {
			line.WriteString(s)
		}
		i := strings.LastIndexByte(s, '{')
		if i < 0 || !strings.HasSuffix(s, "}") {
			return line.String(), n, nil
		}
		size, err := strconv.ParseInt(strings.TrimSuffix(s[i+1:len(s)-1], "+"), 10, 64)
		if err != nil {
			return line.String(), n, nil
		}
		m, err := io.CopyN(io.Discard, c.r, size)
		n += int(m)
		if err != nil {
			return "", n, fmt.Errorf("literal: %w", err)
		}
	}
}

// cmd sends a command and reads up to its tagged completion, which must
// be OK. It returns the untagged responses (first 4 KiB of each line) when
// keep is set, and counts them otherwise.
func (c *conn) cmd(keep bool, format string, args ...any) ([]string, int, error) {
	c.tag++
	tag := "b" + strconv.Itoa(c.tag)
	c.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	fmt.Fprintf(c.w, "%s %s\r\n", tag, fmt.Sprintf(format, args...))
	if err := c.w.Flush(); err != nil {
		return nil, 0, err
	}
	return c.untilTagged(tag, keep)
}

func (c *conn) untilTagged(tag string, keep bool) ([]string, int, error) {
	var out []string
	count := 0
	for {
		l, _, err := c.response()
		if err != nil {
			return out, count, err
		}
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l[len(tag)+1:], "OK") {
				return out, count, fmt.Errorf("%s", l)
			}
			return out, count, nil
		}
		count++
		if keep {
			out = append(out, l)
		}
	}
}

// appendMsg APPENDs msg with a synchronizing literal (RFC 9051 section
// 4.3: wait for the continuation), which every server supports.
func (c *conn) appendMsg(mailbox string, msg []byte) error {
	c.tag++
	tag := "b" + strconv.Itoa(c.tag)
	c.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	fmt.Fprintf(c.w, "%s APPEND %s {%d}\r\n", tag, mailbox, len(msg))
	if err := c.w.Flush(); err != nil {
		return err
	}
	l, _, err := c.response()
	if err != nil {
		return err
	}
	if !strings.HasPrefix(l, "+") {
		return fmt.Errorf("APPEND: %s", l)
	}
	c.w.Write(msg)
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	_, _, err = c.untilTagged(tag, false)
	return err
}

// idleStart enters IDLE (RFC 2177) and waits for the continuation.
func (c *conn) idleStart() (string, error) {
	c.tag++
	tag := "b" + strconv.Itoa(c.tag)
	c.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	fmt.Fprintf(c.w, "%s IDLE\r\n", tag)
	if err := c.w.Flush(); err != nil {
		return "", err
	}
	for {
		l, _, err := c.response()
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(l, "+") {
			return tag, nil
		}
		if strings.HasPrefix(l, tag+" ") {
			return "", fmt.Errorf("IDLE: %s", l)
		}
	}
}

// idleDone leaves IDLE.
func (c *conn) idleDone(tag string) error {
	c.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	c.w.WriteString("DONE\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	_, _, err := c.untilTagged(tag, false)
	return err
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func login(addr, localIP, user, pass string) (*conn, error) {
	c, err := dial(addr, localIP)
	if err != nil {
		return nil, err
	}
	if _, _, err := c.cmd(false, "LOGIN %s %s", quote(user), quote(pass)); err != nil {
		c.Close()
		return nil, fmt.Errorf("LOGIN %s: %w", user, err)
	}
	return c, nil
}

// corpusMessages reads up to n corpus files (sorted by path) without
// their mbox "From " line, with CRLF line ends; files with NUL bytes are
// skipped (they would need a literal8).
func corpusMessages(dir string, n int) ([][]byte, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".txt") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var msgs [][]byte
	for _, f := range files {
		if len(msgs) == n {
			break
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(b, []byte("From ")) {
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				b = b[i+1:]
			}
		}
		if bytes.IndexByte(b, 0) >= 0 {
			continue
		}
		b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
		b = bytes.ReplaceAll(b, []byte("\r"), []byte(""))
		msgs = append(msgs, bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")))
	}
	if len(msgs) < n {
		return nil, fmt.Errorf("only %d usable messages in %s, want %d", len(msgs), dir, n)
	}
	return msgs, nil
}

func populate(args []string) error {
	fs := flag.NewFlagSet("populate", flag.ExitOnError)
	addr := fs.String("addr", "", "IMAP address")
	user := fs.String("user", "", "login")
	pass := fs.String("pass", "", "password")
	corpus := fs.String("corpus", "", "corpus directory")
	n := fs.Int("n", 2000, "messages")
	workers := fs.Int("workers", 8, "concurrent connections")
	fs.Parse(args)
	msgs, err := corpusMessages(*corpus, *n)
	if err != nil {
		return err
	}
	var next atomic.Int64
	errs := make(chan error, *workers)
	for range *workers {
		go func() {
			c, err := login(*addr, "", *user, *pass)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(msgs) {
					errs <- nil
					return
				}
				if err := c.appendMsg("INBOX", msgs[i]); err != nil {
					errs <- fmt.Errorf("message %d: %w", i, err)
					return
				}
			}
		}()
	}
	for range *workers {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}

// phase is one operation type of the workload.
type phase struct {
	name string
	ops  int // per client
	// run is one operation on a client's logged-in connection (INBOX
	// selected).
	run func(w *worker) error
}

type worker struct {
	c          *conn
	addr, user string
	pass       string
	rnd        *rand.Rand
	exists     int
	msg        []byte
	searchKeys []string
	i          int
}

func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	addr := fs.String("addr", "", "IMAP address")
	user := fs.String("user", "", "login")
	pass := fs.String("pass", "", "password")
	clients := fs.Int("clients", 10, "concurrent clients")
	scale := fs.Float64("scale", 1, "multiplies the operations per client")
	fs.Parse(args)
	ops := func(n int) int { return max(1, int(float64(n)*(*scale))) }

	appendMsg := []byte("From: Bench <bench@remote.test>\r\nTo: bench@example.test\r\nSubject: appended by the benchmark\r\n" +
		"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <append@bench.test>\r\n\r\n" +
		strings.Repeat("An appended line of text for the benchmark.\r\n", 40))
	phases := []phase{
		{"login", ops(20), func(w *worker) error {
			c, err := login(w.addr, "", w.user, w.pass)
			if err != nil {
				return err
			}
			defer c.Close()
			_, _, err = c.cmd(false, "LOGOUT")
			return err
		}},
		{"select", ops(50), func(w *worker) error {
			_, _, err := w.c.cmd(false, "SELECT INBOX")
			return err
		}},
		{"fetch_headers", ops(2), func(w *worker) error {
			_, n, err := w.c.cmd(false, "FETCH 1:* (BODY.PEEK[HEADER])")
			if err == nil && n < w.exists {
				err = fmt.Errorf("FETCH 1:* returned %d responses for %d messages", n, w.exists)
			}
			return err
		}},
		{"fetch_body", ops(100), func(w *worker) error {
			_, n, err := w.c.cmd(false, "FETCH %d (BODY.PEEK[])", 1+w.rnd.IntN(w.exists))
			if err == nil && n < 1 {
				err = errors.New("FETCH BODY.PEEK[] returned nothing")
			}
			return err
		}},
		{"store", ops(100), func(w *worker) error {
			op := "+FLAGS.SILENT"
			if w.rnd.IntN(2) == 0 {
				op = "-FLAGS.SILENT"
			}
			_, _, err := w.c.cmd(false, "STORE %d %s (\\Flagged)", 1+w.rnd.IntN(w.exists), op)
			return err
		}},
		{"search", ops(20), func(w *worker) error {
			w.i++
			_, _, err := w.c.cmd(false, "SEARCH %s", w.searchKeys[w.i%len(w.searchKeys)])
			return err
		}},
		{"append", ops(20), func(w *worker) error {
			return w.c.appendMsg("INBOX", w.msg)
		}},
		{"idle", ops(50), func(w *worker) error {
			tag, err := w.c.idleStart()
			if err != nil {
				return err
			}
			return w.c.idleDone(tag)
		}},
	}

	workers := make([]*worker, *clients)
	for i := range workers {
		c, err := login(*addr, "", *user, *pass)
		if err != nil {
			return err
		}
		defer c.Close()
		lines, _, err := c.cmd(true, "SELECT INBOX")
		if err != nil {
			return err
		}
		exists := 0
		for _, l := range lines {
			if strings.HasSuffix(l, " EXISTS") {
				exists, _ = strconv.Atoi(strings.Fields(l)[1])
			}
		}
		if exists == 0 {
			return errors.New("INBOX is empty: populate it first")
		}
		workers[i] = &worker{c: c, addr: *addr, user: *user, pass: *pass, exists: exists, msg: appendMsg,
			rnd: rand.New(rand.NewPCG(uint64(i), 42)),
			// A word of the corpus bodies, a sender, and a flag.
			searchKeys: []string{"BODY money", "FROM \"spamassassin\"", "UNSEEN", "SUBJECT \"re:\""}}
	}
	var totalOps int
	var totalTime time.Duration
	for _, p := range phases {
		var wg sync.WaitGroup
		errs := make(chan error, len(workers))
		start := time.Now()
		for _, w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range p.ops {
					if err := p.run(w); err != nil {
						errs <- fmt.Errorf("%s: %w", p.name, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		close(errs)
		if err := <-errs; err != nil {
			return err
		}
		n := p.ops * len(workers)
		totalOps += n
		totalTime += elapsed
		fmt.Printf("RESULT %s %d %.6f\n", p.name, n, elapsed.Seconds())
	}
	fmt.Printf("RESULT overall %d %.6f\n", totalOps, totalTime.Seconds())
	for _, w := range workers {
		w.c.cmd(false, "LOGOUT")
	}
	return nil
}

// memory is the resident memory of a process tree, in KiB: RSS (shared
// pages counted in every process) and PSS (shared pages divided).
type memory struct {
	rss, pss int64
	procs    int
}

// treeMemory sums VmRSS (/proc/PID/status) and Pss (/proc/PID/smaps_rollup)
// over pid and all its descendants.
func treeMemory(pid int) (memory, error) {
	children := map[int][]int{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return memory{}, err
	}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces; cut at the last ')'.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			f := strings.Fields(s[i+1:])
			if len(f) > 1 {
				pp, _ := strconv.Atoi(f[1])
				children[pp] = append(children[pp], p)
			}
		}
	}
	var m memory
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		queue = append(queue, children[p]...)
		m.rss += procField(fmt.Sprintf("/proc/%d/status", p), "VmRSS:")
		m.pss += procField(fmt.Sprintf("/proc/%d/smaps_rollup", p), "Pss:")
		m.procs++
	}
	if m.rss == 0 {
		return m, fmt.Errorf("no memory figures for process %d", pid)
	}
	return m, nil
}

// procField reads "Name:   123 kB" from a /proc file (0 when absent).
func procField(path, name string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name) {
			f := strings.Fields(l[len(name):])
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

func idleMem(args []string) error {
	fs := flag.NewFlagSet("idlemem", flag.ExitOnError)
	addr := fs.String("addr", "", "IMAP address")
	userFormat := fs.String("user-format", "bench%d@example.test", "login of user i")
	users := fs.Int("users", 50, "users")
	perUser := fs.Int("per-user", 20, "connections per user")
	pass := fs.String("pass", "", "password")
	pid := fs.Int("pid", 0, "server process (its descendants are counted too)")
	ips := fs.Int("ips", 20, "loopback source addresses 127.0.0.2... (per-IP connection limits)")
	settle := fs.Duration("settle", 5*time.Second, "wait before measuring")
	// Logins hash the password (argon2id, 19 MiB each in mailport): many
	// at once would leave a transient heap that a garbage-collected server
	// returns to the OS only slowly, and that is not connection memory.
	loginConc := fs.Int("login-concurrency", 2, "logins at a time")
	fs.Parse(args)
	if *pid == 0 {
		return errors.New("--pid is required")
	}
	time.Sleep(*settle)
	before, err := treeMemory(*pid)
	if err != nil {
		return err
	}
	total := *users * *perUser
	conns := make([]*conn, total)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	// Two halves: the second half's memory is the marginal cost of a
	// connection, free of what the server allocated once (the heap that
	// the first logins grew, runtime structures).
	half := total / 2
	if err := openIdle(conns[:half], 0, *addr, *userFormat, *users, *pass, *ips, *loginConc); err != nil {
		return err
	}
	time.Sleep(*settle)
	mid, err := treeMemory(*pid)
	if err != nil {
		return err
	}
	if err := openIdle(conns[half:], half, *addr, *userFormat, *users, *pass, *ips, *loginConc); err != nil {
		return err
	}
	time.Sleep(*settle)
	after, err := treeMemory(*pid)
	if err != nil {
		return err
	}
	second := total - half
	fmt.Printf("RESULT idlemem conns %d rss_before_kib %d rss_mid_kib %d rss_after_kib %d pss_before_kib %d pss_after_kib %d procs_before %d procs_after %d "+
		"rss_per_conn_kib %.1f pss_per_conn_kib %.1f marginal_rss_per_conn_kib %.1f marginal_pss_per_conn_kib %.1f\n",
		total, before.rss, mid.rss, after.rss, before.pss, after.pss, before.procs, after.procs,
		float64(after.rss-before.rss)/float64(total), float64(after.pss-before.pss)/float64(total),
		float64(after.rss-mid.rss)/float64(second), float64(after.pss-mid.pss)/float64(second))
	return nil
}

// openIdle fills conns with logged-in connections (numbered from first)
// that selected INBOX and are in IDLE.
func openIdle(conns []*conn, first int, addr, userFormat string, users int, pass string, ips, loginConc int) error {
	sem := make(chan struct{}, max(1, loginConc))
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for j := range conns {
		i := first + j
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ip := fmt.Sprintf("127.0.0.%d", 2+i%ips)
			c, err := login(addr, ip, fmt.Sprintf(userFormat, i%users), pass)
			if err == nil {
				_, _, err = c.cmd(false, "SELECT INBOX")
			}
			if err == nil {
				_, err = c.idleStart()
			}
			if err != nil {
				firstErr.CompareAndSwap(nil, fmt.Errorf("connection %d: %w", i, err))
				if c != nil {
					c.Close()
				}
				return
			}
			conns[j] = c
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return err
	}
	return nil
}

func big(args []string) error {
	fs := flag.NewFlagSet("big", flag.ExitOnError)
	addr := fs.String("addr", "", "IMAP address")
	user := fs.String("user", "", "login")
	pass := fs.String("pass", "", "password")
	fs.Parse(args)
	c, err := login(*addr, "", *user, *pass)
	if err != nil {
		return err
	}
	defer c.Close()
	start := time.Now()
	lines, _, err := c.cmd(true, "SELECT INBOX")
	if err != nil {
		return err
	}
	sel := time.Since(start)
	exists := -1
	for _, l := range lines {
		if strings.HasSuffix(l, " EXISTS") {
			exists, _ = strconv.Atoi(strings.Fields(l)[1])
		}
	}
	start = time.Now()
	_, n, err := c.cmd(false, "UID FETCH 1:* (FLAGS)")
	if err != nil {
		return err
	}
	fetch := time.Since(start)
	if n != exists {
		return fmt.Errorf("UID FETCH 1:* (FLAGS) gave %d responses for %d messages", n, exists)
	}
	c.cmd(false, "LOGOUT")
	fmt.Printf("RESULT big messages %d select_s %.3f uid_fetch_flags_s %.3f\n", exists, sel.Seconds(), fetch.Seconds())
	return nil
}
