package projections

import "github.com/treatywatch/treatywatch/events"

// OpenedForSignature returns the date a treaty opened for signature, the
// start of its "days from opening" and of its curve, from its definition
// and its status as of a date (st, computed from the same definition):
//
//  1. the definition's signature window opening (signature.opens), the
//     date the treaty's final clauses give;
//  2. else the earliest signature in st, the first date a State is known
//     to have signed (so at most st.AsOf);
//  3. else the adoption date (adopted), when treaties that say nothing
//     else are open for signature;
//
// and the zero Date when none is known. Opening is an act of the treaty,
// not of its signatories, so a definition that gives the date is never
// overridden by the acts recorded; adoption comes last because a treaty
// adopted in one place is often opened for signature months later in
// another (the Hanoi Convention: adopted in New York on 24 December 2024,
// opened in Hanoi on 25 October 2025). It is a pure function.
func OpenedForSignature(def events.Definition, st Status) events.Date {
	if w := def.Signature; w != nil && !w.Opens.IsZero() {
		return w.Opens
	}
	var first events.Date
	for _, p := range st.Participants {
		if p.Signature != nil && (first.IsZero() || p.Signature.Before(first)) {
			first = *p.Signature
		}
	}
	if !first.IsZero() {
		return first
	}
	return def.Adopted
}
