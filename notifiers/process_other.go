//go:build !linux

package notifiers

// processIdentity is "" where the process space cannot be named: a
// sender there takes over a lease only when it is released or expires.
func processIdentity() string { return "" }

// processGone is false where processes cannot be told apart safely.
func processGone(ours, theirs string, pid int) bool { return false }
