package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"runtime"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is a bytes.Buffer safe for a logger writing while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testMain returns a Main whose environment is env and whose output goes to
// the returned buffers.
func testMain(env map[string]string) (*Main, *syncBuffer, *syncBuffer) {
	var stdout, stderr syncBuffer
	return &Main{Env{
		Stdout: &stdout,
		Stderr: &stderr,
		LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
	}}, &stdout, &stderr
}

// run runs atroz with args and env, and returns its output and error.
func run(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	m, out, errOut := testMain(env)
	err = m.Run(context.Background(), args)
	return out.String(), errOut.String(), err
}

func TestRunCommandLine(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"help", nil, []string{"help"}, 0, "Commands:", ""},
		{"help flag", nil, []string{"-h"}, 0, "Commands:", ""},
		{"help for a command", nil, []string{"help", "db"}, 0, "import FILE", ""},
		{"unknown subcommand", nil, []string{"frobnicate"}, 2, "", `unknown subcommand "frobnicate"`},
		{"db without subcommand", nil, []string{"db"}, 2, "", "missing subcommand"},
		{"unknown db subcommand", nil, []string{"db", "nope"}, 2, "", `unknown subcommand "nope"`},
		{"unknown flag", nil, []string{"serve", "-nope"}, 2, "", "flag provided but not defined: -nope"},
		{"serve help lists settings", nil, []string{"serve", "-h"}, 0, "$LISTEN_ADDR", ""},
		{"stray argument", nil, []string{"version", "extra"}, 2, "", "want 0 argument(s), got 1"},
		{"import without file", nil, []string{"db", "import"}, 2, "", "want 1 argument(s), got 0"},
		{"invalid setting", map[string]string{"LOG_LEVEL": "loud"}, []string{"db", "stats"}, 1, "", "LOG_LEVEL"},
		{"invalid flag value", nil, []string{"db", "stats", "-max-series", "many"}, 2, "", "invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, stdout, stderr := testMain(tt.env)
			code := m.exitCode(m.Run(context.Background(), tt.args))
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantStdout, stdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, stderr)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	f := func(err error, want int, wantStderr string) {
		t.Helper()
		m, _, stderr := testMain(nil)
		if got := m.exitCode(err); got != want {
			t.Errorf("exitCode(%v) = %d, want %d", err, got, want)
		}
		if stderr.String() != wantStderr {
			t.Errorf("stderr = %q, want %q", stderr, wantStderr)
		}
	}
	f(nil, 0, "")
	f(flag.ErrHelp, 0, "")
	f(errUsage, 2, "")
	f(errors.New("disk full"), 1, "atroz: disk full\n")
}

func TestVersion(t *testing.T) {
	stdout, _, err := run(t, nil, "version")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"atroz " + version, "commit " + commit, runtime.Version()} {
		if !strings.Contains(stdout, want) {
			t.Errorf("version output lacks %q:\n%s", want, stdout)
		}
	}
}
