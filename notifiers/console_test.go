package notifiers_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
)

func consoleSub() events.Subscription {
	return events.Subscription{ID: "local", Sink: events.SinkConsole, Treaties: []string{hanoi}}
}

// TestConsoleWritesText sends the signature, the deposit and the digest:
// the output is each golden text followed by a blank line.
func TestConsoleWritesText(t *testing.T) {
	var out bytes.Buffer
	c := notifiers.NewConsole(&out)
	var want strings.Builder
	for _, name := range []string{"signature", "deposit", "digest"} {
		rc, err := c.Send(t.Context(), consoleSub(), notifiers.Render(find(t, hanoiNotices(), name)))
		if err != nil {
			t.Fatal(err)
		}
		if rc != (notifiers.Receipt{}) {
			t.Errorf("receipt %+v", rc)
		}
		b, err := os.ReadFile(filepath.Join("testdata", name+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		want.Write(b)
		want.WriteByte('\n')
	}
	if out.String() != want.String() {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want.String())
	}
	if first, _, _ := strings.Cut(out.String(), "\n"); first != "Hanoi Convention: Signature by Viet Nam" {
		t.Errorf("first line %q", first)
	}
}

// TestConsoleSerialisesWrites sends concurrently: every message comes out
// whole.
func TestConsoleSerialisesWrites(t *testing.T) {
	var out bytes.Buffer
	c := notifiers.NewConsole(&out)
	var texts []string
	var msgs []notifiers.Message
	for _, tc := range hanoiNotices() {
		if tc.notice.Kind == notifiers.KindDigest { // its text has blank lines
			continue
		}
		msgs = append(msgs, notifiers.Render(tc.notice))
		texts = append(texts, strings.TrimSuffix(notifiers.RenderText(tc.notice), "\n"))
	}
	var wg sync.WaitGroup
	for range 8 {
		for _, m := range msgs {
			wg.Go(func() {
				if _, err := c.Send(context.Background(), consoleSub(), m); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	chunks := strings.Split(strings.TrimSuffix(out.String(), "\n\n"), "\n\n")
	if len(chunks) != 8*len(msgs) {
		t.Fatalf("%d messages written, want %d", len(chunks), 8*len(msgs))
	}
	for _, ch := range chunks {
		if !slices.Contains(texts, ch) {
			t.Fatalf("interleaved or unknown output:\n%s", ch)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestConsoleFailures(t *testing.T) {
	msg := notifiers.Render(hanoiNotices()[0].notice)
	_, err := notifiers.NewConsole(failingWriter{}).Send(t.Context(), consoleSub(), msg)
	assertClass(t, err, notifiers.FailureRetry, 0, "")

	var out bytes.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = notifiers.NewConsole(&out).Send(ctx, consoleSub(), msg)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled send: %v, want context.Canceled", err)
	}
	if out.Len() != 0 {
		t.Errorf("cancelled send wrote %q", out.String())
	}
}
