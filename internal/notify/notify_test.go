package notify

import (
	"sync"
	"testing"
)

func TestPublishReachesOnlyTheAccount(t *testing.T) {
	b := NewBus()
	a1, a1b, a2 := b.Subscribe(1), b.Subscribe(1), b.Subscribe(2)
	defer a1.Close()
	defer a1b.Close()
	defer a2.Close()
	b.Publish(Event{AccountID: 1, MailboxID: 7, Kind: MessageAdded, ModSeq: 3})
	for _, s := range []*Subscription{a1, a1b} {
		select {
		case ev := <-s.C:
			if ev.MailboxID != 7 || ev.ModSeq != 3 || ev.Kind != MessageAdded {
				t.Fatalf("event %+v", ev)
			}
		default:
			t.Fatal("subscriber of account 1 got nothing")
		}
	}
	select {
	case ev := <-a2.C:
		t.Fatalf("account 2 got %+v", ev)
	default:
	}
}

func TestSlowSubscriberDoesNotBlock(t *testing.T) {
	b := NewBus()
	s := b.Subscribe(1)
	defer s.Close()
	for i := 0; i < 1000; i++ {
		b.Publish(Event{AccountID: 1, ModSeq: uint64(i)})
	}
	if len(s.C) != cap(s.C) {
		t.Fatalf("buffer holds %d of %d", len(s.C), cap(s.C))
	}
}

func TestCloseStopsDelivery(t *testing.T) {
	b := NewBus()
	s := b.Subscribe(1)
	s.Close()
	s.Close() // twice is fine
	b.Publish(Event{AccountID: 1})
	if len(s.C) != 0 {
		t.Fatal("closed subscription received an event")
	}
	if len(b.subs) != 0 {
		t.Fatalf("bus keeps %d accounts", len(b.subs))
	}
}

func TestConcurrentUse(t *testing.T) {
	b := NewBus()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				s := b.Subscribe(int64(j % 3))
				s.Close()
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				b.Publish(Event{AccountID: int64(j % 3)})
			}
		}()
	}
	wg.Wait()
}
