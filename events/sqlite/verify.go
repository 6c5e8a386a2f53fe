package sqlite

import (
	"context"
	"fmt"

	"github.com/treatywatch/treatywatch/events"
)

// VerifyReport is what VerifyReport found in a log whose hash chain holds.
type VerifyReport struct {
	// Events is the number of events verified.
	Events int64
	// Head is the position of the last event, 0 for an empty log.
	Head int64
	// Hash is the last event's hash, nil for an empty log. Keep it
	// elsewhere to detect a later truncation of the log, which the chain
	// alone cannot reveal.
	Hash []byte
}

// Verify walks the whole log in position order, recomputing the hash
// chain, and returns a *events.TamperError (wrapping events.ErrTampered)
// naming the first position where it breaks: an event whose contents or
// hash were changed, or a missing position. It reads one consistent
// snapshot and does not block writers.
func (s *Store) Verify(ctx context.Context) error {
	_, err := s.VerifyReport(ctx)
	return err
}

// VerifyReport is Verify, and says how much it verified.
func (s *Store) VerifyReport(ctx context.Context) (VerifyReport, error) {
	rows, err := s.read.QueryContext(ctx, sqlVerify)
	if err != nil {
		return VerifyReport{}, fmt.Errorf("verify: %w", err)
	}
	defer rows.Close()
	var (
		rep   VerifyReport
		sc    rowScanner
		e     events.Envelope
		last  []byte
		chain = events.NewChain(nil)
	)
	for rows.Next() {
		if err := sc.scan(rows, &e, false); err != nil {
			return rep, fmt.Errorf("verify: %w", err)
		}
		if want := rep.Head + 1; e.Position != want {
			return rep, &events.TamperError{Position: want, Reason: fmt.Sprintf("the event at position %d is missing (the next stored is at %d)", want, e.Position)}
		}
		if err := chain.Verify(e); err != nil {
			return rep, err
		}
		rep.Events++
		rep.Head = e.Position
		last = append(last[:0], e.Hash...) // e.Hash is the driver's until Next
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	rep.Hash = last
	return rep, nil
}
