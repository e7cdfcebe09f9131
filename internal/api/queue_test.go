package api

import (
	"testing"
	"time"
)

// TestQueueRetryAnswersTheAttempt: POST /queue/{id}/retry answers the
// entry as the attempt it asked for left it; when no attempt ends within
// RetryWait, the entry as it is, due now.
func TestQueueRetryAnswersTheAttempt(t *testing.T) {
	e := newEnv(t)
	r := e.do(req{method: "POST", path: "/api/v1/queue/qa/retry", auth: "da"})
	var got QueueEntry
	r.json(t, &got)
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if r.status != 200 || got.Attempts != 1 || got.LastError != "451 4.7.1 try again later" || !got.NextAttempt.Equal(created.Add(time.Hour)) ||
		got.Recipients[0].Attempts != 1 || got.Recipients[0].State != "pending" {
		t.Errorf("retry: %d %s", r.status, r.body)
	}
	if r := e.do(req{method: "POST", path: "/api/v1/queue/qa/retry", auth: "db"}); r.status != 404 {
		t.Errorf("retry of another domain's entry: %d %s", r.status, r.body)
	}

	stalled := newEnv(t, func(o *envOptions) { o.retryWait = time.Millisecond })
	stalled.queue.stalled = true
	before := time.Now()
	r = stalled.do(req{method: "POST", path: "/api/v1/queue/qa/retry", auth: "admin"})
	got = QueueEntry{}
	r.json(t, &got)
	if r.status != 200 || got.Attempts != 0 || got.NextAttempt.Before(before) {
		t.Errorf("retry without an attempt: %d %s", r.status, r.body)
	}
	stalled.queue.mu.Lock()
	defer stalled.queue.mu.Unlock()
	if n := len(stalled.queue.watchers["qa"]); n != 0 {
		t.Errorf("%d watchers left after the answer", n)
	}
}
