package notifiers

import (
	"log/slog"
	"testing"

	"github.com/robfig/cron/v3"
)

// TestJobWrappersRunAgainAfterAPanic runs a job under the scheduler's cron
// wrappers three times, the first run panicking: the panic is recovered
// and the later runs happen (with SkipIfStillRunning outside Recover's
// reach they would be skipped for ever).
func TestJobWrappersRunAgainAfterAPanic(t *testing.T) {
	runs := 0
	job := cron.NewChain(jobWrappers(cronLogger{slog.New(slog.DiscardHandler)})...).Then(cron.FuncJob(func() {
		runs++
		if runs == 1 {
			panic("the first run fails")
		}
	}))
	for range 3 {
		job.Run()
	}
	if runs != 3 {
		t.Fatalf("the job ran %d times of 3: a panic stopped its later runs", runs)
	}
}
