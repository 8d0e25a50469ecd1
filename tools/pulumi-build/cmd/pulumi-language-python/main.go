// Command pulumi-language-python is this project's own, minimal Python language host for the
// Pulumi engine. It is written from the public gRPC protocol (pulumirpc.LanguageRuntime) only,
// because the upstream language-host module is not obtainable from the Go module proxy here.
//
// What it does:
//   - serves pulumirpc.LanguageRuntime on 127.0.0.1:<random port> and prints the port on stdout;
//   - Run: starts `<python> pulumi-language-python-exec <engine args> <program>` where <python>
//     comes from the project's runtime options (virtualenv / toolchain) and the exec script sits
//     next to this binary (or on PATH);
//   - reports no required plugins: Python dynamic providers are served by the bundled
//     pulumi-resource-pulumi-python script, so nothing is ever downloaded;
//   - InstallDependencies / About / GetProgramDependencies: small pip-based implementations.
//
// Exit-code contract with the exec script: 0 = success, 32 = the program failed and already
// reported its error to the engine (the host answers with bail=true), anything else = failure.
//
// Signals: the engine stops its plugins by sending SIGINT to their process group and kills them
// 5 s later. Go's default action already exits at once, except when SIGINT was ignored when the
// CLI started (a script that runs `pulumi ... &`): an ignored SIGINT is inherited, and every
// operation then took 5 s longer. So the host handles SIGINT and SIGTERM itself: it passes the
// signal on to any program it is running, gives the program childGrace to exit (then kills it),
// stops serving and exits 0. Handling the signals also means the program is started with their
// default dispositions, not with an inherited "ignore".
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	execScriptName = "pulumi-language-python-exec"
	bailExitCode   = 32
	// childGrace is how long a program gets to exit after a signal (or a Cancel) before it is
	// killed; it stays below the engine's own 5 s so the host still exits on its own.
	childGrace = 3 * time.Second
)

// hostFlags holds what the engine passed on the command line. The engine may add flags this
// host does not know (tracing, logging, runtime options in older engines); they are accepted
// and ignored unless listed here.
type hostFlags struct {
	engineAddress string
	root          string
	options       map[string]string
}

func parseArgs(args []string) hostFlags {
	f := hostFlags{options: map[string]string{}}
	var positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		value := ""
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			name, value = name[:eq], name[eq+1:]
		} else if name == "root" || name == "tracing" || name == "virtualenv" || name == "toolchain" {
			// value-taking flags given as "-name value"
			if i+1 < len(args) {
				value = args[i+1]
				i++
			}
		}
		switch name {
		case "root":
			f.root = value
		case "virtualenv", "toolchain", "typechecker":
			f.options[name] = value
		}
	}
	if len(positional) > 0 {
		f.engineAddress = positional[0]
	}
	return f
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	flags hostFlags
	self  string // directory holding this executable (symlinks resolved)

	mu          sync.Mutex
	engineAddr  string
	rootDir     string
	programDir  string
	cancelFuncs map[int]context.CancelFunc
	nextCancel  int
	programs    map[*exec.Cmd]struct{} // programs started by Run and not yet exited
	stopping    bool                   // a signal arrived: start nothing new
	running     sync.WaitGroup         // one count per program in `programs`
}

func main() {
	flags := parseArgs(os.Args[1:])
	self := ""
	if exe, err := os.Executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		self = filepath.Dir(exe)
	}
	h := &host{flags: flags, self: self, engineAddr: flags.engineAddress, rootDir: flags.root,
		cancelFuncs: map[int]context.CancelFunc{}, programs: map[*exec.Cmd]struct{}{}}

	// Before anything is started, so programs inherit default dispositions (see package doc).
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: listen: %v\n", err)
		os.Exit(1)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(400*1024*1024), grpc.MaxSendMsgSize(400*1024*1024))
	pulumirpc.RegisterLanguageRuntimeServer(srv, h)

	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", lis.Addr().(*net.TCPAddr).Port)

	go watchParent(os.Getppid(), h, srv)
	if flags.engineAddress != "" {
		go watchEngine(flags.engineAddress, h, srv)
	}
	go func() {
		sig := <-signals
		h.shutdown(sig)
		srv.Stop()
		os.Exit(0)
	}()
	if err := srv.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: serve: %v\n", err)
		os.Exit(1)
	}
}

// engineCheck is how often the host looks whether its engine is still there.
const engineCheck = 500 * time.Millisecond

// watchParent exits once the engine that started this host is gone (killed or crashed): the
// host is then re-parented, so its parent pid changes. Any program still running is killed
// first, so no process of the run outlives its engine.
func watchParent(parent int, h *host, srv *grpc.Server) {
	for os.Getppid() == parent {
		time.Sleep(engineCheck)
	}
	h.abandon()
	srv.Stop()
	os.Exit(1)
}

// watchEngine does the same when the engine stops accepting connections (an engine that is
// not this host's parent, e.g. one attached through PULUMI_DEBUG_COMMANDS).
func watchEngine(addr string, h *host, srv *grpc.Server) {
	failures := 0
	for {
		time.Sleep(engineCheck)
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			failures++
			if failures >= 4 {
				h.abandon()
				srv.Stop()
				os.Exit(0)
			}
			continue
		}
		_ = c.Close()
		failures = 0
	}
}

// abandon kills every running program at once: its engine is gone, nobody will read its output.
func (h *host) abandon() {
	h.mu.Lock()
	h.stopping = true
	for cmd := range h.programs {
		_ = cmd.Process.Kill()
	}
	h.mu.Unlock()
}

// shutdown passes sig on to every running program, waits up to childGrace for them to exit and
// kills the ones still running. New Run calls are refused from here on.
func (h *host) shutdown(sig os.Signal) {
	h.mu.Lock()
	h.stopping = true
	programs := make([]*exec.Cmd, 0, len(h.programs))
	for cmd := range h.programs {
		programs = append(programs, cmd)
	}
	h.mu.Unlock()
	if len(programs) == 0 {
		return
	}
	for _, cmd := range programs {
		_ = cmd.Process.Signal(sig)
	}
	done := make(chan struct{})
	go func() {
		h.running.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(childGrace):
		for _, cmd := range programs {
			_ = cmd.Process.Kill()
		}
		select {
		case <-done:
		case <-time.After(time.Second):
		}
	}
}

// ---- runtime options and interpreter selection ---------------------------------------------

type runtimeOptions struct {
	virtualenv string
	toolchain  string
}

func (h *host) options(info *pulumirpc.ProgramInfo) runtimeOptions {
	o := runtimeOptions{virtualenv: h.flags.options["virtualenv"], toolchain: h.flags.options["toolchain"]}
	if info != nil && info.GetOptions() != nil {
		m := info.GetOptions().AsMap()
		if v, ok := m["virtualenv"].(string); ok {
			o.virtualenv = v
		}
		if v, ok := m["toolchain"].(string); ok {
			o.toolchain = v
		}
	}
	if o.toolchain == "" {
		o.toolchain = "pip"
	}
	return o
}

func (h *host) root(info *pulumirpc.ProgramInfo, fallback string) string {
	if info != nil && info.GetRootDirectory() != "" {
		return info.GetRootDirectory()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rootDir != "" {
		return h.rootDir
	}
	if fallback != "" {
		return fallback
	}
	wd, _ := os.Getwd()
	return wd
}

// venvDir returns the virtual environment directory for the project ("" when none is
// configured). Relative paths are relative to the project root (the directory of Pulumi.yaml).
func (h *host) venvDir(info *pulumirpc.ProgramInfo, root string) (string, error) {
	o := h.options(info)
	venv := o.virtualenv
	switch o.toolchain {
	case "uv":
		if venv == "" {
			venv = ".venv"
		}
	case "poetry":
		cmd := exec.Command("poetry", "env", "info", "--path")
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("toolchain poetry: `poetry env info --path` failed: %w", err)
		}
		venv = strings.TrimSpace(string(out))
	case "pip", "":
	default:
		return "", fmt.Errorf("unsupported Python toolchain %q (supported: pip, uv, poetry)", o.toolchain)
	}
	if venv == "" {
		return "", nil
	}
	if !filepath.IsAbs(venv) {
		venv = filepath.Join(root, venv)
	}
	return filepath.Clean(venv), nil
}

func venvPython(venv string) string { return filepath.Join(venv, "bin", "python") }

// interpreter returns the python executable and the extra environment for running it.
func (h *host) interpreter(info *pulumirpc.ProgramInfo, root string) (string, []string, error) {
	venv, err := h.venvDir(info, root)
	if err != nil {
		return "", nil, err
	}
	if venv != "" {
		py := venvPython(venv)
		if _, err := os.Stat(py); err != nil {
			return "", nil, fmt.Errorf("the virtual environment %s does not exist or has no bin/python; "+
				"create it (python3 -m venv %s && %s -m pip install -r requirements.txt) or run `pulumi install`",
				venv, venv, py)
		}
		env := []string{
			"VIRTUAL_ENV=" + venv,
			"PATH=" + filepath.Join(venv, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
		}
		return py, env, nil
	}
	for _, candidate := range []string{os.Getenv("PULUMI_PYTHON_CMD"), "python3", "python"} {
		if candidate == "" {
			continue
		}
		if p, err := exec.LookPath(candidate); err == nil {
			return p, nil, nil
		}
	}
	return "", nil, errors.New("no Python interpreter found: set a virtualenv in Pulumi.yaml, or PULUMI_PYTHON_CMD, or put python3 on PATH")
}

// withEnv overrides entries of base with extra (KEY=VALUE strings); later entries win.
func withEnv(base []string, extra ...string) []string {
	idx := map[string]int{}
	out := make([]string, 0, len(base)+len(extra))
	for _, kv := range append(append([]string{}, base...), extra...) {
		k := kv
		if eq := strings.IndexByte(kv, '='); eq >= 0 {
			k = kv[:eq]
		}
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	return out
}

func (h *host) execScript() (string, error) {
	if p := os.Getenv("PULUMI_LANGUAGE_PYTHON_EXEC"); p != "" {
		return p, nil
	}
	if h.self != "" {
		p := filepath.Join(h.self, execScriptName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(execScriptName); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found next to %s nor on PATH", execScriptName, filepath.Join(h.self, "pulumi-language-python"))
}

// ---- LanguageRuntime ------------------------------------------------------------------------

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.engineAddr = req.GetEngineAddress()
	if req.RootDirectory != nil {
		h.rootDir = req.GetRootDirectory()
	}
	if req.ProgramDirectory != nil {
		h.programDir = req.GetProgramDirectory()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	v := strings.TrimPrefix(version.Version, "v")
	return &pulumirpc.PluginInfo{Version: v}, nil
}

// Python dynamic providers are bundled with the CLI; other Pulumi packages are not used by this
// project, so no plugin is ever required (and hence never downloaded).
func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, cancel := range h.cancelFuncs {
		cancel()
	}
	return &emptypb.Empty{}, nil
}

func (h *host) trackCancel(cancel context.CancelFunc) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	id := h.nextCancel
	h.nextCancel++
	h.cancelFuncs[id] = cancel
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.cancelFuncs, id)
	}
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	root := h.root(info, req.GetPwd())

	programDir := req.GetPwd()
	entry := req.GetProgram()
	if info != nil && info.GetProgramDirectory() != "" {
		programDir = info.GetProgramDirectory()
		entry = info.GetEntryPoint()
	}
	target := programDir
	if entry != "" && entry != "." {
		if filepath.IsAbs(entry) {
			target = entry
		} else {
			target = filepath.Join(programDir, entry)
		}
	}

	python, pyEnv, err := h.interpreter(info, root)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	script, err := h.execScript()
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	h.mu.Lock()
	engineAddr := h.engineAddr
	h.mu.Unlock()

	args := []string{"-u", script,
		"--monitor", req.GetMonitorAddress(),
		"--engine", engineAddr,
		"--project", req.GetProject(),
		"--stack", req.GetStack(),
		"--pwd", req.GetPwd(),
		"--parallel", fmt.Sprint(req.GetParallel()),
		"--organization", req.GetOrganization(),
		"--root_directory", root,
	}
	if req.GetDryRun() {
		args = append(args, "--dry_run")
	}
	args = append(args, target)
	args = append(args, req.GetArgs()...)

	configMap := req.GetConfig()
	if configMap == nil {
		configMap = map[string]string{}
	}
	config, err := json.Marshal(configMap)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	keys, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer h.trackCancel(cancel)()

	cmd := exec.CommandContext(runCtx, python, args...)
	// Cancel asks the program to stop (Python: KeyboardInterrupt, then exit code 32) and kills
	// it only if it is still running childGrace later.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = childGrace
	cmd.Dir = req.GetPwd()
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = withEnv(os.Environ(), append(pyEnv,
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(keys),
		"PYTHONUNBUFFERED=1",
	)...)
	err = h.runProgram(cmd)
	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if exitErr.ExitCode() == bailExitCode {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode())}, nil
	}
	return &pulumirpc.RunResponse{Error: fmt.Sprintf("running %s: %v", python, err)}, nil
}

// runProgram starts cmd, keeps it in h.programs while it runs (so a signal reaches it) and waits.
func (h *host) runProgram(cmd *exec.Cmd) error {
	h.mu.Lock()
	if h.stopping {
		h.mu.Unlock()
		return errors.New("the language host is shutting down")
	}
	if err := cmd.Start(); err != nil {
		h.mu.Unlock()
		return err
	}
	h.programs[cmd] = struct{}{}
	h.running.Add(1)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.programs, cmd)
		h.mu.Unlock()
		h.running.Done()
	}()
	return cmd.Wait()
}

// streamWriter forwards process output to an InstallDependencies stream.
type streamWriter struct {
	mu     *sync.Mutex
	send   func(*pulumirpc.InstallDependenciesResponse) error
	stderr bool
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := append([]byte{}, p...)
	msg := &pulumirpc.InstallDependenciesResponse{Stdout: b}
	if w.stderr {
		msg = &pulumirpc.InstallDependenciesResponse{Stderr: b}
	}
	if err := w.send(msg); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest, stream grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]) error {
	info := req.GetInfo()
	root := h.root(info, req.GetDirectory())
	var mu sync.Mutex
	stdout := streamWriter{mu: &mu, send: stream.Send}
	stderr := streamWriter{mu: &mu, send: stream.Send, stderr: true}
	run := func(dir string, name string, args ...string) error {
		fmt.Fprintf(stdout, "$ %s %s\n", name, strings.Join(args, " "))
		cmd := exec.CommandContext(stream.Context(), name, args...)
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = stdout, stderr
		return cmd.Run()
	}

	o := h.options(info)
	switch o.toolchain {
	case "uv":
		return run(root, "uv", "sync")
	case "poetry":
		return run(root, "poetry", "install")
	}
	venv, err := h.venvDir(info, root)
	if err != nil {
		return err
	}
	if venv == "" {
		fmt.Fprintln(stdout, "no virtualenv configured in Pulumi.yaml; nothing to install")
		return nil
	}
	if _, err := os.Stat(venvPython(venv)); err != nil {
		base := os.Getenv("PULUMI_PYTHON_CMD")
		if base == "" {
			base = "python3"
		}
		if err := run(root, base, "-m", "venv", venv); err != nil {
			return err
		}
	}
	reqTxt := filepath.Join(root, "requirements.txt")
	if _, err := os.Stat(reqTxt); err == nil {
		return run(root, venvPython(venv), "-m", "pip", "install", "-r", reqTxt)
	}
	return nil
}

func pythonVersion(python string) string {
	out, err := exec.Command(python, "--version").CombinedOutput()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "Python "))
}

func (h *host) About(_ context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	info := req.GetInfo()
	root := h.root(info, "")
	python, _, err := h.interpreter(info, root)
	if err != nil {
		return nil, err
	}
	o := h.options(info)
	return &pulumirpc.AboutResponse{
		Executable: python,
		Version:    pythonVersion(python),
		Metadata:   map[string]string{"toolchain": o.toolchain, "host": "aimodels-iac pulumi-language-python"},
	}, nil
}

func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	info := req.GetInfo()
	root := h.root(info, req.GetPwd())
	python, pyEnv, err := h.interpreter(info, root)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check")
	cmd.Dir = root
	cmd.Env = withEnv(os.Environ(), pyEnv...)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("pip list: %w", err)
	}
	var pkgs []struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(out, &pkgs); err != nil {
		return nil, fmt.Errorf("pip list output: %w", err)
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, p := range pkgs {
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return resp, nil
}
