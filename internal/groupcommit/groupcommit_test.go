package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// job is a test item: a name, a weight, and the outcome commit writes.
type job struct {
	name      string
	weight    int
	committed bool
}

// recorder is a commit function that records each round's names and,
// while gate is open, holds the first round until gate is closed.
type recorder struct {
	mu      sync.Mutex
	rounds  [][]string
	gate    chan struct{}
	once    sync.Once
	entered chan struct{}
}

// start runs a loop over a recorder. Its cleanup releases a held round
// before closing the loop, so a failing test ends rather than hangs.
func start(t *testing.T, opts Options[*job]) (*Loop[*job], *recorder) {
	r := &recorder{gate: make(chan struct{}), entered: make(chan struct{})}
	l := New(r.commit, opts)
	t.Cleanup(l.Close)
	t.Cleanup(r.release)
	return l, r
}

// release lets the held first round finish; it is safe to call more
// than once.
func (r *recorder) release() {
	r.once.Do(func() { close(r.gate) })
}

func (r *recorder) commit(round []*job) {
	r.mu.Lock()
	var names []string
	for _, j := range round {
		names = append(names, j.name)
	}
	r.rounds = append(r.rounds, names)
	first := len(r.rounds) == 1
	r.mu.Unlock()
	if first {
		close(r.entered)
		<-r.gate
	}
	for _, j := range round {
		j.committed = true
	}
}

func (r *recorder) seen() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.rounds)
}

// waitQueued waits until n items are queued behind the running round.
func waitQueued(t *testing.T, l *Loop[*job], n int) {
	t.Helper()
	for l.Queued() < n {
		time.Sleep(time.Millisecond)
	}
}

// returned is the error of a Do, failing the test if Do never returns
// (a lost item would hang it); the limit only turns such a hang into a
// failure, a working loop answers far sooner.
func returned(t *testing.T, errc chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Do never returned")
		return nil
	}
}

// holdFirstRound starts a Do whose round stays open until r.gate closes,
// and returns its error channel.
func holdFirstRound(l *Loop[*job], r *recorder) chan error {
	errc := make(chan error, 1)
	go func() { errc <- l.Do(context.Background(), &job{name: "first", weight: 1}) }()
	<-r.entered
	return errc
}

// queueInOrder starts one Do per job, each queued before the next, so
// the queue's order is the jobs' order; the returned channel gets every
// Do's error.
func queueInOrder(t *testing.T, l *Loop[*job], jobs []*job) chan error {
	t.Helper()
	errc := make(chan error, len(jobs))
	base := l.Queued()
	for i, j := range jobs {
		go func() { errc <- l.Do(context.Background(), j) }()
		waitQueued(t, l, base+i+1)
	}
	return errc
}

func TestRoundsGrowWithLoad(t *testing.T) {
	l, r := start(t, Options[*job]{})
	first := holdFirstRound(l, r)

	const n = 25
	jobs := make([]*job, n)
	var wg sync.WaitGroup
	for i := range jobs {
		jobs[i] = &job{name: fmt.Sprint("j", i)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Do(context.Background(), jobs[i]); err != nil {
				t.Errorf("Do %d: %v", i, err)
			}
		}()
	}
	waitQueued(t, l, n)
	r.release()
	wg.Wait()
	if err := returned(t, first); err != nil {
		t.Fatal(err)
	}
	rounds := r.seen()
	if len(rounds) != 2 || len(rounds[0]) != 1 || len(rounds[1]) != n {
		t.Errorf("rounds %v: want the first alone, then all %d submitted while it ran together", rounds, n)
	}
	if got := l.Rounds(); got != 2 {
		t.Errorf("Rounds() = %d, want 2", got)
	}
	for _, j := range jobs {
		if !j.committed {
			t.Errorf("%s: Do returned before commit wrote its outcome", j.name)
		}
	}
}

func TestWeightCut(t *testing.T) {
	byWeight := func(j *job) int { return j.weight }
	tests := []struct {
		name    string
		max     int
		weight  func(*job) int
		weights []int
		want    [][]string
	}{
		{
			name: "one per item", max: 3, weights: []int{9, 9, 9, 9, 9, 9, 9},
			want: [][]string{{"a", "b", "c"}, {"d", "e", "f"}, {"g"}},
		},
		{
			name: "by weight, whole items", max: 5, weight: byWeight, weights: []int{2, 2, 2, 3, 1, 1},
			want: [][]string{{"a", "b"}, {"c", "d"}, {"e", "f"}},
		},
		{
			name: "an item heavier than the bound goes alone", max: 5, weight: byWeight, weights: []int{1, 7, 2, 9},
			want: [][]string{{"a"}, {"b"}, {"c"}, {"d"}},
		},
		{
			name: "no bound", weight: byWeight, weights: []int{100, 200, 300},
			want: [][]string{{"a", "b", "c"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, r := start(t, Options[*job]{MaxWeight: tc.max, Weight: tc.weight})
			first := holdFirstRound(l, r)
			var jobs []*job
			for i, w := range tc.weights {
				jobs = append(jobs, &job{name: string(rune('a' + i)), weight: w})
			}
			errc := queueInOrder(t, l, jobs)
			r.release()
			for range jobs {
				if err := returned(t, errc); err != nil {
					t.Fatal(err)
				}
			}
			if err := returned(t, first); err != nil {
				t.Fatal(err)
			}
			got := r.seen()[1:]
			if !slices.EqualFunc(got, tc.want, slices.Equal) {
				t.Errorf("rounds %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWithdrawWhileQueued(t *testing.T) {
	l, r := start(t, Options[*job]{})
	first := holdFirstRound(l, r)

	ctx, cancel := context.WithCancel(context.Background())
	withdrawn := &job{name: "withdrawn"}
	errc := make(chan error, 1)
	go func() { errc <- l.Do(ctx, withdrawn) }()
	waitQueued(t, l, 1)
	cancel()
	if err := returned(t, errc); !errors.Is(err, context.Canceled) {
		t.Errorf("Do cancelled while queued: %v, want context.Canceled", err)
	}
	if q := l.Queued(); q != 0 {
		t.Errorf("%d items still queued after the withdrawal", q)
	}
	r.release()
	if err := returned(t, first); err != nil {
		t.Fatal(err)
	}
	l.Close()
	for _, round := range r.seen() {
		if slices.Contains(round, "withdrawn") {
			t.Errorf("commit saw the withdrawn item: rounds %v", r.seen())
		}
	}
	if withdrawn.committed {
		t.Error("withdrawn item has an outcome")
	}
}

func TestCancelAfterRoundTookItWaitsForOutcome(t *testing.T) {
	l, r := start(t, Options[*job]{})

	ctx, cancel := context.WithCancel(context.Background())
	j := &job{name: "taken"}
	errc := make(chan error, 1)
	go func() { errc <- l.Do(ctx, j) }()
	<-r.entered // the round holds j
	cancel()
	// A Do that gave up on cancel would return here, before its round;
	// the grace period only gives such a bug the chance to show, a
	// correct Do blocks however long it is.
	select {
	case err := <-errc:
		t.Fatalf("Do returned %v while the round holding its item was still committing", err)
	case <-time.After(50 * time.Millisecond):
	}
	r.release()
	if err := returned(t, errc); err != nil {
		t.Errorf("Do after its round committed: %v, want nil", err)
	}
	if !j.committed {
		t.Error("Do returned before commit wrote the outcome")
	}
}

func TestCloseDrainsThenRefuses(t *testing.T) {
	errStopped := errors.New("test: stopped")
	l, r := start(t, Options[*job]{ErrClosed: errStopped})
	first := holdFirstRound(l, r)
	jobs := []*job{{name: "a"}, {name: "b"}, {name: "c"}}
	errc := queueInOrder(t, l, jobs)

	closed := make(chan struct{})
	go func() { l.Close(); close(closed) }()
	// Close refuses new items at once, while the queued ones still wait
	// behind the held round. Until Close has begun, a Do with an ended
	// ctx is queued and withdrawn again (the round is held, so it cannot
	// be taken).
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		late := make(chan error, 1)
		go func() { late <- l.Do(ended, &job{name: "late"}) }()
		err := returned(t, late)
		if errors.Is(err, errStopped) {
			break
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Do while closing: %v", err)
		}
	}
	r.release()
	<-closed
	for range jobs {
		if err := returned(t, errc); err != nil {
			t.Errorf("queued item failed at Close: %v", err)
		}
	}
	if err := returned(t, first); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if !j.committed {
			t.Errorf("%s: queued at Close but never committed", j.name)
		}
	}
	if err := l.Do(context.Background(), &job{name: "after"}); !errors.Is(err, errStopped) {
		t.Errorf("Do after Close: %v, want the loop's own closed error", err)
	}
	l.Close() // a second Close returns at once
	for _, round := range r.seen() {
		if slices.Contains(round, "late") || slices.Contains(round, "after") {
			t.Errorf("commit saw an item submitted after Close: %v", r.seen())
		}
	}
}

func TestDefaultClosedError(t *testing.T) {
	l := New(func([]int) {}, Options[int]{})
	l.Close()
	if err := l.Do(context.Background(), 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after Close: %v, want ErrClosed", err)
	}
}
