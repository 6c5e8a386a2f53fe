package main_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/notifiers/slackfake"
)

// notifier starts `treatywatch notify run` against a fake Slack.
func (c *cli) notifier(t *testing.T, fake *slackfake.Server, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary, "--db", c.db, "notify", "run")
	cmd.Env = append(os.Environ(), append(append(c.env, "SLACK_BOT_TOKEN=xoxb-test", "SLACK_API_URL="+fake.APIURL(), "TREATYWATCH_CHANNEL_INTERVAL=50ms"), env...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if testing.Verbose() {
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	} else {
		cmd.Stdout, cmd.Stderr = nil, nil
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestEveryMessageArrivesOnceAcrossCrashes records deposits while the
// notifier is killed with SIGKILL at random points between append and
// delivery, restarts it each time, and checks that every deposit reached
// each subscribed Slack channel exactly once.
func TestEveryMessageArrivesOnceAcrossCrashes(t *testing.T) {
	c := newCLI(t)
	c.ok("seed")
	fake := slackfake.New()
	defer fake.Close()
	channels := []string{"C0NGO1", "C0NGO2", "C0NGO3"}
	for _, ch := range channels {
		c.ok("subscribe", "--sink", "slack", "--channel", ch, "--treaty", "XVIII-16", "--on", "deposits")
	}
	ratifiers := []string{"Algeria", "Angola", "Australia", "Austria", "Azerbaijan", "Belarus", "Belgium", "Brazil", "Chile", "China", "Cuba", "Ecuador", "Egypt", "France"}
	rng := rand.New(rand.NewPCG(7, 11))
	proc := c.notifier(t, fake)
	kills := 0
	for i, p := range ratifiers {
		c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", p, "--date", "2026-03-02", "--ref", fmt.Sprintf("C.N.%d.2026.TREATIES-XVIII.16", 100+i))
		time.Sleep(time.Duration(rng.IntN(250)) * time.Millisecond)
		if rng.IntN(3) == 0 {
			proc.Process.Kill() // SIGKILL: no cleanup at all
			proc.Wait()
			kills++
			proc = c.notifier(t, fake)
		}
	}
	want := len(ratifiers) * len(channels)
	deadline := time.Now().Add(60 * time.Second)
	for len(fake.Posts()) < want && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // any duplicate would arrive now
	proc.Process.Kill()
	proc.Wait()
	if kills == 0 {
		t.Fatal("the notifier was never killed")
	}
	seen := map[string]int{}
	for _, post := range fake.Posts() {
		for _, p := range ratifiers {
			if strings.Contains(post.Text, p) {
				seen[post.Channel+" "+p]++
			}
		}
	}
	for _, ch := range channels {
		for _, p := range ratifiers {
			if n := seen[ch+" "+p]; n != 1 {
				t.Errorf("%s's ratification reached %s %d times, want exactly once", p, ch, n)
			}
		}
	}
	if got := len(fake.Posts()); got != want {
		t.Errorf("%d posts, want %d (after %d kills)", got, want, kills)
	}
	t.Logf("%d posts, %d kills", len(fake.Posts()), kills)
}

// TestCrashBetweenSlackAcceptingAndMarkingSent kills the notifier exactly
// in the one window a crash can hit — Slack accepted the post, the
// delivery is not yet marked sent — and checks that the restarted
// notifier finds the message in the channel's history (by the delivery id
// in its metadata) instead of posting it twice.
func TestCrashBetweenSlackAcceptingAndMarkingSent(t *testing.T) {
	c := newCLI(t)
	c.ok("seed")
	fake := slackfake.New()
	defer fake.Close()
	c.ok("subscribe", "--sink", "slack", "--channel", "C0NGO1", "--treaty", "XVIII-16", "--on", "deposits")
	ratifiers := []string{"Algeria", "Angola", "Australia"}
	for i, p := range ratifiers {
		c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", p, "--date", "2026-03-02", "--ref", fmt.Sprintf("C.N.%d.2026.TREATIES-XVIII.16", 200+i))
	}
	for round := 1; round <= 3; round++ {
		proc := c.notifier(t, fake, "TREATYWATCH_CRASH_AFTER_SENDS=1")
		err := proc.Wait() // it exits by itself right after Slack accepts a post
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 137 {
			t.Fatalf("round %d: notifier ended with %v, want the injected crash", round, err)
		}
	}
	proc := c.notifier(t, fake)
	deadline := time.Now().Add(20 * time.Second)
	for len(fake.Posts()) < len(ratifiers) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	proc.Process.Kill()
	proc.Wait()
	posts := fake.Posts()
	if len(posts) != len(ratifiers) {
		t.Fatalf("%d posts for %d deposits across 3 crashes after accepted posts", len(posts), len(ratifiers))
	}
	if fake.Calls("conversations.history") == 0 {
		t.Fatal("the restarted notifier never checked the channel's history")
	}
}
