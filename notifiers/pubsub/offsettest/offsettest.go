package offsettest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers/pubsub"
)

// Run runs the contract suite against the stores open returns. open is
// called once per subtest and must return a new, empty store that lives
// until the test ends (close it with t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) pubsub.OffsetStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, pubsub.OffsetStore)
	}{
		{"NoOffsetYet", testNoOffset},
		{"TakeCreatesTheOffsetAtZero", testTakeCreates},
		{"TakeIsExclusive", testTakeExclusive},
		{"ClaimHeldThroughItsUntil", testHeldThroughUntil},
		{"LapsedClaimIsTakenOver", testLapsed},
		{"GoneHolderIsReplaced", testReplacing},
		{"CommitOnlyByTheHolder", testCommit},
		{"RenewOnlyByTheHolder", testRenew},
		{"ReleaseKeepsTheOffset", testRelease},
		{"TopicsAndGroupsAreIndependent", testIndependent},
		{"ConcurrentTakesOneWins", testConcurrentTakes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// The suite's topic and consumer groups: the notifier reading the log.
const (
	logTopic = pubsub.LogTopic
	notifier = "notifier"
	auditor  = "auditor"
)

// Holders, as pubsub names them: "PID-NONCE@PROCESS-SPACE".
const (
	holderA = "4242-aaaa@boot-1/pidns-1"
	holderB = "4343-bbbb@boot-1/pidns-1"
)

// t0 is the suite's clock: whole milliseconds, which every store keeps
// exactly.
var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// claim is holder's claim of the notifier's offset until ms.
func claim(holder string, ms int) events.Claim {
	return events.Claim{Topic: logTopic, Group: notifier, Holder: holder, Until: at(ms)}
}

func take(t *testing.T, s pubsub.OffsetStore, c events.Claim, nowMS int, replacing string) (int64, bool) {
	t.Helper()
	pos, ok, err := s.TakeClaim(t.Context(), c, at(nowMS), replacing)
	if err != nil {
		t.Fatalf("TakeClaim(%s): %v", c.Holder, err)
	}
	return pos, ok
}

func offset(t *testing.T, s pubsub.OffsetStore, topic, group string) int64 {
	t.Helper()
	pos, err := s.GroupOffset(t.Context(), topic, group)
	if err != nil {
		t.Fatalf("GroupOffset(%s, %s): %v", topic, group, err)
	}
	return pos
}

func peek(t *testing.T, s pubsub.OffsetStore, topic, group string) events.Claim {
	t.Helper()
	c, err := s.PeekClaim(t.Context(), topic, group)
	if err != nil {
		t.Fatalf("PeekClaim(%s, %s): %v", topic, group, err)
	}
	return c
}

func samePeek(t *testing.T, what string, got events.Claim, holder string, until time.Time) {
	t.Helper()
	if got.Topic != logTopic || got.Group != notifier || got.Holder != holder || !got.Until.Equal(until) {
		t.Errorf("%s: claim %+v, want %s/%s held by %q until %v", what, got, logTopic, notifier, holder, until)
	}
}

func mustCommit(t *testing.T, s pubsub.OffsetStore, c events.Claim, pos int64) {
	t.Helper()
	if ok, err := s.CommitOffset(t.Context(), c, pos); err != nil || !ok {
		t.Fatalf("CommitOffset(%s, %d): %v %v", c.Holder, pos, ok, err)
	}
}

func testNoOffset(t *testing.T, s pubsub.OffsetStore) {
	if pos := offset(t, s, logTopic, notifier); pos != 0 {
		t.Errorf("offset of a new group: %d", pos)
	}
	samePeek(t, "a new group", peek(t, s, logTopic, notifier), "", time.Time{})
}

func testTakeCreates(t *testing.T, s pubsub.OffsetStore) {
	pos, ok := take(t, s, claim(holderA, 10_000), 0, "")
	if !ok || pos != 0 {
		t.Fatalf("the first claim: %d %v, want 0 true", pos, ok)
	}
	samePeek(t, "claimed", peek(t, s, logTopic, notifier), holderA, at(10_000))
	if pos := offset(t, s, logTopic, notifier); pos != 0 {
		t.Errorf("offset %d, want 0", pos)
	}
}

func testTakeExclusive(t *testing.T, s pubsub.OffsetStore) {
	take(t, s, claim(holderA, 10_000), 0, "")
	mustCommit(t, s, claim(holderA, 10_000), 7)
	if _, ok := take(t, s, claim(holderB, 12_000), 5_000, ""); ok {
		t.Fatal("another subscription took a claim held until later")
	}
	samePeek(t, "after another's try", peek(t, s, logTopic, notifier), holderA, at(10_000))
	// The holder takes its own claim again (a resubscription).
	if pos, ok := take(t, s, claim(holderA, 15_000), 5_000, ""); !ok || pos != 7 {
		t.Errorf("the holder claiming again: %d %v, want 7 true", pos, ok)
	}
	samePeek(t, "claimed again", peek(t, s, logTopic, notifier), holderA, at(15_000))
}

func testHeldThroughUntil(t *testing.T, s pubsub.OffsetStore) {
	take(t, s, claim(holderA, 10_000), 0, "")
	if _, ok := take(t, s, claim(holderB, 20_000), 10_000, ""); ok {
		t.Error("a claim was taken over at its Until; it lapses only after")
	}
}

func testLapsed(t *testing.T, s pubsub.OffsetStore) {
	take(t, s, claim(holderA, 10_000), 0, "")
	mustCommit(t, s, claim(holderA, 10_000), 12)
	pos, ok := take(t, s, claim(holderB, 20_000), 10_001, "")
	if !ok || pos != 12 {
		t.Fatalf("taking a lapsed claim: %d %v, want 12 true", pos, ok)
	}
	samePeek(t, "taken over", peek(t, s, logTopic, notifier), holderB, at(20_000))
	// The old holder, back, changes nothing.
	if ok, err := s.CommitOffset(t.Context(), claim(holderA, 30_000), 99); err != nil || ok {
		t.Errorf("a commit by the old holder: %v %v, want false", ok, err)
	}
	if pos := offset(t, s, logTopic, notifier); pos != 12 {
		t.Errorf("offset %d after the old holder's commit, want 12", pos)
	}
}

func testReplacing(t *testing.T, s pubsub.OffsetStore) {
	take(t, s, claim(holderA, 10_000), 0, "")
	if _, ok := take(t, s, claim(holderB, 20_000), 1_000, "9999-cccc@boot-1/pidns-1"); ok {
		t.Error("a claim was taken in place of a holder that does not hold it")
	}
	if _, ok := take(t, s, claim(holderB, 20_000), 1_000, holderA); !ok {
		t.Fatal("a claim whose holder's process ended was not taken at once")
	}
	samePeek(t, "replaced", peek(t, s, logTopic, notifier), holderB, at(20_000))
}

func testCommit(t *testing.T, s pubsub.OffsetStore) {
	take(t, s, claim(holderA, 10_000), 0, "")
	mustCommit(t, s, claim(holderA, 14_000), 5)
	if pos := offset(t, s, logTopic, notifier); pos != 5 {
		t.Errorf("offset %d, want 5", pos)
	}
	samePeek(t, "a commit renews the claim", peek(t, s, logTopic, notifier), holderA, at(14_000))
	if ok, err := s.CommitOffset(t.Context(), claim(holderB, 30_000), 9); err != nil || ok {
		t.Errorf("a commit by another: %v %v, want false", ok, err)
	}
	if pos := offset(t, s, logTopic, notifier); pos != 5 {
		t.Errorf("offset %d after another's commit, want 5", pos)
	}
	samePeek(t, "after another's commit", peek(t, s, logTopic, notifier), holderA, at(14_000))
	if ok, err := s.CommitOffset(t.Context(), events.Claim{Topic: logTopic, Group: auditor, Holder: holderA, Until: at(1)}, 3); err != nil || ok {
		t.Errorf("a commit to a group without an offset: %v %v, want false", ok, err)
	}
}

func testRenew(t *testing.T, s pubsub.OffsetStore) {
	take(t, s, claim(holderA, 10_000), 0, "")
	if ok, err := s.RenewClaim(t.Context(), claim(holderA, 12_500)); err != nil || !ok {
		t.Fatalf("a renewal by the holder: %v %v", ok, err)
	}
	samePeek(t, "renewed", peek(t, s, logTopic, notifier), holderA, at(12_500))
	if ok, err := s.RenewClaim(t.Context(), claim(holderB, 99_000)); err != nil || ok {
		t.Errorf("a renewal by another: %v %v, want false", ok, err)
	}
	samePeek(t, "after another's renewal", peek(t, s, logTopic, notifier), holderA, at(12_500))
}

func testRelease(t *testing.T, s pubsub.OffsetStore) {
	take(t, s, claim(holderA, 10_000), 0, "")
	mustCommit(t, s, claim(holderA, 10_000), 21)
	if ok, err := s.ReleaseClaim(t.Context(), claim(holderB, 0)); err != nil || ok {
		t.Errorf("a release by another: %v %v, want false", ok, err)
	}
	if ok, err := s.ReleaseClaim(t.Context(), claim(holderA, 0)); err != nil || !ok {
		t.Fatalf("a release by the holder: %v %v", ok, err)
	}
	samePeek(t, "released", peek(t, s, logTopic, notifier), "", time.Time{})
	if pos := offset(t, s, logTopic, notifier); pos != 21 {
		t.Errorf("offset %d after the release, want 21", pos)
	}
	if ok, err := s.RenewClaim(t.Context(), claim(holderA, 20_000)); err != nil || ok {
		t.Errorf("a renewal after the release: %v %v, want false", ok, err)
	}
	// Another subscriber resumes at once, where the first stopped.
	if pos, ok := take(t, s, claim(holderB, 20_000), 1_000, ""); !ok || pos != 21 {
		t.Errorf("the next subscriber: %d %v, want 21 true", pos, ok)
	}
}

func testIndependent(t *testing.T, s pubsub.OffsetStore) {
	take(t, s, claim(holderA, 10_000), 0, "")
	mustCommit(t, s, claim(holderA, 10_000), 40)
	other := events.Claim{Topic: logTopic, Group: auditor, Holder: holderB, Until: at(10_000)}
	if pos, ok := take(t, s, other, 0, ""); !ok || pos != 0 {
		t.Fatalf("another group: %d %v, want 0 true", pos, ok)
	}
	mustCommit(t, s, other, 3)
	topic := events.Claim{Topic: "subscriptions", Group: notifier, Holder: holderB, Until: at(10_000)}
	if pos, ok := take(t, s, topic, 0, ""); !ok || pos != 0 {
		t.Fatalf("another topic: %d %v, want 0 true", pos, ok)
	}
	for _, tc := range []struct {
		topic, group string
		want         int64
	}{{logTopic, notifier, 40}, {logTopic, auditor, 3}, {"subscriptions", notifier, 0}, {"subscriptions", auditor, 0}} {
		if pos := offset(t, s, tc.topic, tc.group); pos != tc.want {
			t.Errorf("offset of %s/%s: %d, want %d", tc.topic, tc.group, pos, tc.want)
		}
	}
}

func testConcurrentTakes(t *testing.T, s pubsub.OffsetStore) {
	const subscribers = 6
	won := make([]bool, subscribers)
	var wg sync.WaitGroup
	for i := range subscribers {
		wg.Go(func() {
			_, ok, err := s.TakeClaim(context.Background(), claim(fmt.Sprintf("%d-nonce@boot-1/pidns-1", 100+i), 10_000), at(0), "")
			if err != nil {
				t.Errorf("subscriber %d: %v", i, err)
			}
			won[i] = ok
		})
	}
	wg.Wait()
	winners := 0
	for _, ok := range won {
		if ok {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d subscriptions took the claim at once, want exactly 1", winners)
	}
}
