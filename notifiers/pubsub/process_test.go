package pubsub_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/notifiers/pubsub"
)

// helperEnv holds, in the helper process of TestKilledProcess, the path
// of the database file.
const helperEnv = "TREATYWATCH_PUBSUB_HELPER_DB"

// helperTTLEnv holds the helper's ClaimTTL: how long its claim outlives
// it.
const helperTTLEnv = "TREATYWATCH_PUBSUB_HELPER_TTL"

// TestKilledProcess: a process (this test binary, running
// TestHelperSubscriber) acknowledges five events of the log, takes the
// sixth, and is killed (SIGKILL) with it in hand. A new subscriber of
// the same group takes over once the dead process's claim lapses and
// delivers from the sixth event on: nothing is lost.
func TestKilledProcess(t *testing.T) {
	killedProcess(t, 500*time.Millisecond, 500*time.Millisecond+5*time.Second)
}

// TestKilledProcessIsReplacedAtOnce: the claim of a holder whose process
// has ended is taken over at once, long before its lease would lapse —
// a notifier restarted after a crash does not wait a ClaimTTL.
func TestKilledProcessIsReplacedAtOnce(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("process ends are told apart on Linux only; elsewhere the claim lapses after ClaimTTL (TestKilledProcess)")
	}
	killedProcess(t, time.Hour, 10*time.Second)
}

func killedProcess(t *testing.T, ttl, within time.Duration) {
	path := TempPath(t)
	store := MustOpen(t, path)
	MustAppendActs(t, store, 10, "XVIII-16")

	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperSubscriber$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+path, helperTTLEnv+"="+ttl.String())
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	held := filepath.Join(filepath.Dir(path), "held")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(held); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the helper never took the sixth event:\n%s", output.String())
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // killed

	if got, err := pubsub.Offset(t.Context(), store, pubsub.LogTopic, "notifier"); err != nil || got != 5 {
		t.Fatalf("Offset after the kill = %d, %v; want 5\n%s", got, err, output.String())
	}
	start := time.Now()
	msgs := MustSubscribe(t, MustSubscriber(t, store, testConfig("notifier", nil)), pubsub.LogTopic)
	for want := int64(6); want <= 10; want++ {
		msg := MustReceive(t, msgs)
		if pos, _ := pubsub.Position(msg); pos != want {
			t.Fatalf("got position %d, want %d", pos, want)
		}
		msg.Ack()
	}
	if d := time.Since(start); d > within {
		t.Errorf("took over after %s, want within %s (the claim lapses after %s)", d, within, ttl)
	}
}

// TestHelperSubscriber is the process that TestKilledProcess kills; it
// does nothing in a normal run.
func TestHelperSubscriber(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("the helper process of TestKilledProcess")
	}
	// Neither the store nor the subscriber is closed: the process is
	// killed.
	store, err := sqlite.Open(context.Background(), path, sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig("notifier", nil)
	if cfg.ClaimTTL, err = time.ParseDuration(os.Getenv(helperTTLEnv)); err != nil {
		t.Fatal(err)
	}
	sub, err := pubsub.NewSubscriber(store, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := sub.Subscribe(context.Background(), pubsub.LogTopic)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		MustReceive(t, msgs).Ack()
	}
	msg := MustReceive(t, msgs) // the offset of the fifth is committed
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "held"), []byte(msg.UUID), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Minute) // until killed
	t.Fatal("not killed")
}
