package events

import (
	"context"
	"time"
)

// Answer is a write's answer as its caller gives it back to a client (the
// HTTP API: a status, a content type and a body), kept under the caller's
// key so that a retry of the same request gets it again. A Ledger write
// made under WithAnswer has its store keep the Answer in the transaction
// that appends the write's events: the answer exists if and only if the
// events do, so a client whose connection dropped, or whose server died,
// after the commit still gets the first answer, never a second write or a
// "duplicate".
type Answer struct {
	// Key names the request; the caller scopes it (the HTTP API: "<token
	// id>:<Idempotency-Key>").
	Key string
	// Fingerprint identifies the request's content, so that a retry can be
	// told from another request reusing the key.
	Fingerprint string
	Status      int
	ContentType string
	Body        []byte
}

// AnswerFunc builds a write's Answer from its result, inside the store's
// transaction, before the commit: result is what the Ledger method will
// return — the stored *Envelope for Record, Correct, Retract, AddTreaty,
// CreateToken, RevokeToken (its token.revoked event), Subscribe and
// Unsubscribe, or the *ImportResult (positions filled in) for Import. An
// error aborts the write: nothing is appended.
//
// It may be called more than once for one write (a write decided again
// after a concurrent-write conflict); only the call of the transaction
// that commits counts. It must not call the Ledger or the store.
type AnswerFunc func(result any) (Answer, error)

type answerKey struct{}

// WithAnswer returns a copy of ctx under which a Ledger write keeps the
// Answer f builds with the events it appends, in the same transaction,
// when the Ledger's store is an AnswerStore (with another store the write
// appends as usual and f is never called). A write that appends nothing (a
// refusal, a dry run, an unchanged definition) never calls f.
//
// The answer rides on the context, rather than on a parameter of every
// write method, because it is request-scoped data of the delivery
// mechanism (the HTTP API's Idempotency-Key) that the domain never reads.
func WithAnswer(ctx context.Context, f AnswerFunc) context.Context {
	return context.WithValue(ctx, answerKey{}, f)
}

func answerOf(ctx context.Context) AnswerFunc {
	f, _ := ctx.Value(answerKey{}).(AnswerFunc)
	return f
}

// AnswerStore is a Store that keeps Answers: with an append (for the
// Ledger, under WithAnswer) and alone (for the HTTP API's answers that go
// with no append), and gives them back. events/sqlite's Store implements
// it; events/answertest is its contract suite. Its methods must be safe
// for concurrent use.
type AnswerStore interface {
	// AppendAnswer is Store.Append that also keeps, in the same
	// transaction, the Answer that answer builds from the stored
	// envelopes, dated by the events' recorded time, replacing any kept
	// under its key: the answer is kept if and only if the events are.
	// If answer fails, or builds an answer without a Key (an error
	// wrapping ErrInvalid), it returns the error and writes nothing.
	AppendAnswer(ctx context.Context, answer func(stored []Envelope) (Answer, error), appends ...StreamAppend) ([]Envelope, error)
	// PutAnswer keeps an answer that goes with no append (a refusal, a
	// dry run), dated at, replacing any kept under its key, and deletes
	// the answers kept before purgeBefore, in one transaction.
	PutAnswer(ctx context.Context, a Answer, at, purgeBefore time.Time) error
	// Answer returns the answer kept under key and when it was kept, or
	// false when there is none. A Body kept empty comes back empty (nil
	// or not).
	Answer(ctx context.Context, key string) (Answer, time.Time, bool, error)
}

// appendResult appends for a write whose result, given the stored
// envelopes, is result(stored); under WithAnswer, the answer built from
// that result is kept in the same transaction.
func (l *Ledger) appendResult(ctx context.Context, result func(stored []Envelope) any, appends ...StreamAppend) ([]Envelope, error) {
	f := answerOf(ctx)
	as, ok := l.store.(AnswerStore)
	if f == nil || !ok {
		return l.store.Append(ctx, appends...)
	}
	return as.AppendAnswer(ctx, func(stored []Envelope) (Answer, error) { return f(result(stored)) }, appends...)
}
