package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// interpreterCase is one row of testdata/interpreter.json, the rule the language host and the
// provider launcher (scripts/launchers/pulumi-resource-pulumi-python, tested by
// tests/test_interpreter_rule.py) share for choosing the Python interpreter.
type interpreterCase struct {
	Name       string   `json:"name"`
	Toolchain  string   `json:"toolchain"`
	Virtualenv string   `json:"virtualenv"`
	Venvs      []string `json:"venvs"`
	PythonCmd  string   `json:"python_cmd"`
	Want       string   `json:"want"`
}

func loadCases(t *testing.T) []interpreterCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "interpreter.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []interpreterCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) == 0 {
		t.Fatal("no cases in testdata/interpreter.json")
	}
	return doc.Cases
}

func fakeExecutable(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho \"$0\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestInterpreterRule(t *testing.T) {
	for _, c := range loadCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			tmp := t.TempDir()
			root := filepath.Join(tmp, "root")
			program := filepath.Join(root, "stacks") // the program directory (main: stacks/) is not the root
			if err := os.MkdirAll(program, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "Pulumi.yaml"), []byte("name: p\nruntime: python\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, v := range c.Venvs {
				fakeExecutable(t, filepath.Join(tmp, v, "bin", "python"))
			}
			t.Setenv("PULUMI_PYTHON_CMD", "")
			if c.PythonCmd != "" {
				fakeExecutable(t, filepath.Join(tmp, c.PythonCmd))
				t.Setenv("PULUMI_PYTHON_CMD", filepath.Join(tmp, c.PythonCmd))
			}
			t.Chdir(program) // what the working directory holds must not matter
			h := &host{flags: hostFlags{options: map[string]string{
				"toolchain":  c.Toolchain,
				"virtualenv": strings.ReplaceAll(c.Virtualenv, "{tmp}", tmp),
			}}}
			py, env, err := h.interpreter(nil, root)
			if c.Want == "error" {
				if err == nil {
					t.Fatalf("want an error, got %s", py)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if want := filepath.Join(tmp, c.Want); py != want {
				t.Fatalf("interpreter %s, want %s", py, want)
			}
			if len(c.Venvs) > 0 && (len(env) == 0 || !strings.HasPrefix(env[0], "VIRTUAL_ENV=")) {
				t.Fatalf("a virtualenv interpreter runs with VIRTUAL_ENV set, got %v", env)
			}
		})
	}
}

func TestUnknownToolchainNamesTheSupportedOnes(t *testing.T) {
	h := &host{flags: hostFlags{options: map[string]string{"toolchain": "conda"}}}
	_, err := h.venvDir(nil, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), `"conda"`) || !strings.Contains(err.Error(), "pip, uv, poetry") {
		t.Fatalf("got %v", err)
	}
}

func TestParseArgs(t *testing.T) {
	f := parseArgs([]string{"-root", "/p", "--virtualenv=venv", "-toolchain", "uv", "-tracing", "x", "-unknown", "127.0.0.1:1234"})
	if f.root != "/p" || f.options["virtualenv"] != "venv" || f.options["toolchain"] != "uv" {
		t.Fatalf("flags %+v", f)
	}
	if f.engineAddress != "127.0.0.1:1234" {
		t.Fatalf("engine address %q", f.engineAddress)
	}
}

func TestWithEnvLaterEntriesWin(t *testing.T) {
	got := withEnv([]string{"A=1", "PATH=/bin", "B=2"}, "PATH=/venv/bin:/bin", "C=3")
	want := map[string]string{"A": "1", "B": "2", "C": "3", "PATH": "/venv/bin:/bin"}
	seen := map[string]string{}
	for _, kv := range got {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := seen[k]; dup {
			t.Fatalf("%s twice in %v", k, got)
		}
		seen[k] = v
	}
	for k, v := range want {
		if seen[k] != v {
			t.Fatalf("%s=%q, want %q (%v)", k, seen[k], v, got)
		}
	}
}
