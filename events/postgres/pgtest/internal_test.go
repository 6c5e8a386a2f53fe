package pgtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fakeServer(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func noPath(string) (string, error) { return "", errors.New("not on $PATH") }

// TestMissingBinariesFailSayingWhatIsMissing checks the message a test
// fails with when there are no server binaries and they cannot be
// installed: it names what is missing, where it looked, and what to do.
func TestMissingBinariesFailSayingWhatIsMissing(t *testing.T) {
	root := t.TempDir()
	installs := 0
	f := finder{pgConfig: filepath.Join(root, "no-pg_config"), glob: filepath.Join(root, "*", "bin"), lookPath: noPath,
		install: func() (string, error) {
			installs++
			return "this user is not root and has no passwordless sudo to install them with", errors.New("sudo: a password is required")
		}}
	_, err := f.serverBinaries()
	if err == nil {
		t.Fatal("found server binaries in an empty folder")
	}
	for _, want := range []string{"initdb, pg_ctl, postgres", "not root and has no passwordless sudo", "apt-get install postgresql", "$" + EnvURL, "a password is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the message %q does not say %q", err, want)
		}
	}
	if installs != 1 {
		t.Errorf("install tried %d times, want once", installs)
	}
}

// TestFindsTheNewestServerAndInstallsOnlyWhenAbsent checks that the
// newest /usr/lib/postgresql/NN/bin with the three binaries is used, and
// that an install that provides them is followed by a second look.
func TestFindsTheNewestServerAndInstallsOnlyWhenAbsent(t *testing.T) {
	root := t.TempDir()
	fakeServer(t, filepath.Join(root, "13", "bin"))
	fakeServer(t, filepath.Join(root, "15", "bin"))
	if err := os.MkdirAll(filepath.Join(root, "16", "bin"), 0o755); err != nil { // client only: no initdb
		t.Fatal(err)
	}
	f := finder{pgConfig: filepath.Join(root, "no-pg_config"), glob: filepath.Join(root, "*", "bin"), lookPath: noPath,
		install: func() (string, error) { t.Fatal("install called although the binaries are there"); return "", nil }}
	dir, err := f.serverBinaries()
	if err != nil || dir != filepath.Join(root, "15", "bin") {
		t.Fatalf("serverBinaries = %q, %v; want the 15 one", dir, err)
	}

	empty := t.TempDir()
	f = finder{pgConfig: filepath.Join(empty, "no-pg_config"), glob: filepath.Join(empty, "*", "bin"), lookPath: noPath,
		install: func() (string, error) { fakeServer(t, filepath.Join(empty, "17", "bin")); return "", nil }}
	dir, err = f.serverBinaries()
	if err != nil || dir != filepath.Join(empty, "17", "bin") {
		t.Fatalf("after the install serverBinaries = %q, %v", dir, err)
	}
}
