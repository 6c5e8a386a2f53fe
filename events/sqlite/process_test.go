package sqlite_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
)

// Environment of the helper process that TestTwoProcesses starts.
const (
	helperEnv   = "TREATYWATCH_SQLITE_HELPER" // "1" in a helper
	helperDir   = "TREATYWATCH_SQLITE_HELPER_DIR"
	helperID    = "TREATYWATCH_SQLITE_HELPER_ID"
	helperWarm  = "TREATYWATCH_SQLITE_HELPER_WARM" // "1": append to its own stream first
	barrierWait = 30 * time.Second
)

// TestTwoProcesses starts two OS processes (this test binary, running
// TestHelperProcess) on the same file; they open the store, wait at a
// barrier, and append to the same stream at the same expected version.
// Exactly one must win and the other get a conflict. In the warm case each
// process has appended to a stream of its own first, so that each knows a
// last event (one of them stale) and takes Append's fast path.
func TestTwoProcesses(t *testing.T) {
	t.Run("cold", func(t *testing.T) { testTwoProcesses(t, false) })
	t.Run("warm", func(t *testing.T) { testTwoProcesses(t, true) })
}

func testTwoProcesses(t *testing.T, warm bool) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.db")
	s, err := sqlite.Open(t.Context(), path, sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	type helper struct {
		cmd    *exec.Cmd
		output bytes.Buffer
	}
	helpers := make([]*helper, 2)
	for i := range helpers {
		h := &helper{cmd: exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.v")}
		h.cmd.Env = append(os.Environ(), helperEnv+"=1", helperDir+"="+dir, helperID+"="+strconv.Itoa(i), helperWarm+"="+strconv.FormatBool(warm))
		h.cmd.Stdout, h.cmd.Stderr = &h.output, &h.output
		if err := h.cmd.Start(); err != nil {
			t.Fatalf("start helper %d: %v", i, err)
		}
		helpers[i] = h
	}
	for i := range helpers {
		if err := waitFor(filepath.Join(dir, fmt.Sprintf("ready-%d", i))); err != nil {
			t.Fatalf("helper %d never became ready: %v\n%s", i, err, helpers[i].output.String())
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var results []string
	for i, h := range helpers {
		if err := h.cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v\n%s", i, err, h.output.String())
		}
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("result-%d", i)))
		if err != nil {
			t.Fatalf("helper %d wrote no result: %v\n%s", i, err, h.output.String())
		}
		results = append(results, string(b))
	}
	slices.Sort(results)
	if !slices.Equal(results, []string{"conflict", "ok"}) {
		t.Fatalf("the helpers got %q, want exactly one ok and one conflict", results)
	}

	s = MustOpen(t, path)
	all, err := s.ReadAll(t.Context(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := 1
	if warm {
		want = 3
	}
	if len(all) != want {
		t.Fatalf("the file has %d events, want exactly %d", len(all), want)
	}
	if es := readStream(t, s, bbnj); len(es) != 1 {
		t.Fatalf("%s has %d events, want exactly 1", bbnj, len(es))
	}
	if err := s.Verify(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestHelperProcess is one of TestTwoProcesses' processes; it does nothing
// in a normal run.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("a helper process of TestTwoProcesses")
	}
	dir, id := os.Getenv(helperDir), os.Getenv(helperID)
	s := MustOpen(t, filepath.Join(dir, "events.db"))
	if os.Getenv(helperWarm) == "true" {
		MustAppend(t, s, events.StreamAppend{Stream: "treaty-warm-" + id, Records: Acts(t, 1)})
	}
	if err := os.WriteFile(filepath.Join(dir, "ready-"+id), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(filepath.Join(dir, "go")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Append(t.Context(), events.StreamAppend{Stream: bbnj, ExpectedVersion: 0, Records: Acts(t, 1)})
	result := "ok"
	if errors.Is(err, events.ErrConflict) {
		result = "conflict"
	} else if err != nil {
		result = "error: " + err.Error()
	}
	if err := os.WriteFile(filepath.Join(dir, "result-"+id), []byte(result), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readStream(t *testing.T, s events.Store, stream string) []events.Envelope {
	t.Helper()
	es, err := s.ReadStream(t.Context(), stream)
	if err != nil {
		t.Fatalf("ReadStream(%s): %v", stream, err)
	}
	return es
}

// waitFor polls until the file at path exists.
func waitFor(path string) error {
	deadline := time.Now().Add(barrierWait)
	for {
		_, err := os.Stat(path)
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Millisecond)
	}
}
