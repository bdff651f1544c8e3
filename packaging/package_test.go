//go:build linux

package packaging

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/credbroker/credbroker/internal/testtool"
)

// nfpmPinned is the nfpm the Makefile pins (NFPM_VERSION).
const nfpmPinned = "v2.43.0"

// built is what `make package` produced.
type built struct {
	dist, deb, rpm string
}

// makePackage runs `make package` into a temporary DIST, as a user would
// (the Makefile's own build, gen-docs and nfpm steps).
func makePackage(t *testing.T) built {
	t.Helper()
	testtool.Need(t, "make", "git", "dpkg", "dpkg-deb=dpkg", "rpm", "systemd-analyze=systemd", "bash")
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		t.Fatalf("go env GOPATH: %v", err)
	}
	nfpm := filepath.Join(strings.Split(strings.TrimSpace(string(gopath)), string(os.PathListSeparator))[0], "bin", "nfpm")
	if out, err := exec.Command("go", "version", "-m", nfpm).Output(); err != nil ||
		!regexp.MustCompile(`mod\s+github.com/goreleaser/nfpm/v2\s+`+regexp.QuoteMeta(nfpmPinned)+`\s`).Match(out) {
		t.Skipf("nfpm %s is not at %s: run `make nfpm` (as .ci/run does)", nfpmPinned, nfpm)
	}

	dist := t.TempDir()
	cmd := exec.Command("make", "-s", "package", "DIST="+dist, "BIN="+filepath.Join(dist, "bin", "credbroker"))
	cmd.Dir = ".."
	// Not the make (if any) that runs this test: its jobserver and flags.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make package: %v\n%s", err, out)
	}
	b := built{dist: dist}
	debs, _ := filepath.Glob(filepath.Join(dist, "credbroker_*.deb"))
	rpms, _ := filepath.Glob(filepath.Join(dist, "credbroker-*.rpm"))
	if len(debs) != 1 || len(rpms) != 1 {
		t.Fatalf("make package made %v and %v", debs, rpms)
	}
	b.deb, b.rpm = debs[0], rpms[0]
	return b
}

// run runs a command and returns its combined output, failing the test on error.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// scratchRoot is an empty root with a dpkg database.
func scratchRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/updates", "var/lib/dpkg/info", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// dpkgRoot runs dpkg on root. The maintainer scripts run outside a chroot
// with $DPKG_ROOT set (the scratch root has no /bin/sh), which they honour:
// systemd-sysusers and systemd-tmpfiles work on the root, systemctl is not
// called. --force-depends: the scratch root has no iproute2 (make
// test-systemd installs the package with its dependencies).
func dpkgRoot(t *testing.T, root string, args ...string) string {
	t.Helper()
	return run(t, nil, "dpkg", append([]string{"--root=" + root, "--force-script-chrootless", "--force-depends", "--log=/dev/null"}, args...)...)
}

// TestPackages builds the .deb and .rpm with `make package`, installs the
// .deb into a scratch root and checks that everything lands where the units
// and the docs expect, that installing enables nothing, that the conffile
// survives an upgrade and goes with a purge, and that the .rpm ships the same
// files.
func TestPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and both packages (about a minute cold)")
	}
	b := makePackage(t)

	// The package's control data.
	info := run(t, nil, "dpkg-deb", "--field", b.deb, "Package", "Version", "Architecture", "Depends", "Recommends")
	for _, want := range []string{"Package: credbroker", "Version: 0", "Depends: libc6 (>= 2.34), iproute2", "Recommends: systemd, libpam-systemd"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb --field lacks %q:\n%s", want, info)
		}
	}

	root := scratchRoot(t)
	out := dpkgRoot(t, root, "-i", b.deb)
	for _, want := range []string{"nothing is enabled or running",
		"systemctl --user enable --now credbroker.service",
		`PACKAGING.md ("On a host")`,
		"systemd-creds encrypt --name=credbroker-master-key"} {
		if !strings.Contains(out, want) {
			t.Errorf("postinst message lacks %q:\n%s", want, out)
		}
	}

	t.Run("files", func(t *testing.T) { checkInstalledFiles(t, root, b) })
	t.Run("units resolve in the root", func(t *testing.T) { checkUnitReferences(t, root) })
	t.Run("user and directories", func(t *testing.T) { checkUserAndDirs(t, root) })
	t.Run("completions and man pages cover --help", func(t *testing.T) { checkDocsCoverHelp(t, root) })
	t.Run("rpm", func(t *testing.T) { checkRPM(t, b) })
	t.Run("PKCS #11 token with the shipped binary", func(t *testing.T) { checkPackagedPKCS11(t, b) })
	t.Run("upgrade keeps the config, purge removes it", func(t *testing.T) {
		conf := filepath.Join(root, "etc/credbroker/credbroker.hcl")
		f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("# edited by the admin\n"); err != nil {
			t.Fatal(err)
		}
		f.Close()
		dpkgRoot(t, root, "--force-confold", "-i", b.deb)
		if data, _ := os.ReadFile(conf); !bytes.HasSuffix(data, []byte("# edited by the admin\n")) {
			t.Error("reinstalling replaced the edited config")
		}
		dpkgRoot(t, root, "--remove", "credbroker")
		if _, err := os.Stat(filepath.Join(root, "usr/bin/credbroker")); !os.IsNotExist(err) {
			t.Errorf("binary after remove: %v", err)
		}
		if _, err := os.Stat(conf); err != nil {
			t.Errorf("config gone after remove (only purge may): %v", err)
		}
		dpkgRoot(t, root, "--purge", "credbroker")
		for _, p := range []string{"etc/credbroker", "var/lib/credbroker"} {
			if _, err := os.Stat(filepath.Join(root, p)); !os.IsNotExist(err) {
				t.Errorf("%s after purge: %v", p, err)
			}
		}
	})
}

// expectedFiles are the files the units, the docs and the shells look for.
var expectedFiles = []string{
	"usr/bin/credbroker",
	"usr/lib/systemd/system/credbroker.service",
	"usr/lib/systemd/system/credbroker-imds.socket",
	"usr/lib/systemd/system/credbroker-container.socket",
	"usr/lib/systemd/system/credbroker-core.socket",
	"usr/lib/systemd/system/credbroker-link-local.service",
	"usr/lib/systemd/user/credbroker.service",
	"usr/lib/sysusers.d/credbroker.conf",
	"usr/lib/tmpfiles.d/credbroker.conf",
	"etc/credbroker/credbroker.hcl",
	"usr/share/bash-completion/completions/credbroker",
	"usr/share/zsh/vendor-completions/_credbroker",
	"usr/share/fish/vendor_completions.d/credbroker.fish",
	"usr/share/man/man1/credbroker.1.gz",
	"usr/share/man/man1/credbroker-serve.1.gz",
	"usr/share/doc/credbroker/copyright",
	"usr/share/doc/credbroker/README.md",
	"usr/share/doc/credbroker/PACKAGING.md",
	"usr/share/doc/credbroker/examples/credbroker-user.hcl",
	"usr/share/doc/credbroker/examples/ci-github.hcl",
	"usr/share/doc/credbroker/examples/ci-gitlab.hcl",
	"usr/share/doc/credbroker/examples/imds-link-local.conf",
	"usr/share/doc/credbroker/examples/container-link-local.conf",
	"usr/share/doc/credbroker/examples/caller-process.conf",
	"usr/share/doc/credbroker/examples/keys.conf",
}

func checkInstalledFiles(t *testing.T, root string, b built) {
	for _, f := range expectedFiles {
		st, err := os.Stat(filepath.Join(root, f))
		if err != nil {
			t.Errorf("not installed: /%s", f)
			continue
		}
		want := fs.FileMode(0o644)
		if f == "usr/bin/credbroker" {
			want = 0o755
		}
		if st.Mode().Perm() != want {
			t.Errorf("/%s: mode %v, want %v", f, st.Mode().Perm(), want)
		}
	}
	// The installed files are the sources, byte for byte.
	for src, dst := range map[string]string{
		"systemd/system/credbroker.service": "usr/lib/systemd/system/credbroker.service",
		"systemd/user/credbroker.service":   "usr/lib/systemd/user/credbroker.service",
		"credbroker.hcl":                    "etc/credbroker/credbroker.hcl",
	} {
		if !bytes.Equal(mustRead(t, src), mustRead(t, filepath.Join(root, dst))) {
			t.Errorf("/%s differs from packaging/%s", dst, src)
		}
	}
	// The binary is the one `make build` made: it runs, and links libc only.
	bin := filepath.Join(root, "usr/bin/credbroker")
	if out := run(t, nil, bin, "version"); !strings.HasPrefix(out, "credbroker ") {
		t.Errorf("credbroker version: %q", out)
	}
	checkLinkage(t, bin, b)
	// dpkg's view: the config is the one conffile, nothing else under /etc
	// is owned outside it.
	conffiles := strings.Fields(string(mustRead(t, filepath.Join(root, "var/lib/dpkg/info/credbroker.conffiles"))))
	if !slices.Equal(conffiles, []string{"/etc/credbroker/credbroker.hcl"}) {
		t.Errorf("conffiles: %v", conffiles)
	}
	// Installing enabled nothing: no unit symlinks anywhere in /etc.
	filepath.WalkDir(filepath.Join(root, "etc"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && (d.Type()&fs.ModeSymlink != 0 || strings.HasSuffix(d.Name(), ".wants")) {
			t.Errorf("installing enabled something: %s", strings.TrimPrefix(p, root))
		}
		return nil
	})
}

// checkUnitReferences checks, in the installed root, what the unit test
// could not: each credbroker program in Exec*= is there and executable, and
// each Documentation= man page and file is installed.
func checkUnitReferences(t *testing.T, root string) {
	units, _ := filepath.Glob(filepath.Join(root, "usr/lib/systemd/*/credbroker*"))
	if len(units) != 6 {
		t.Fatalf("installed units: %v", units)
	}
	manRE := regexp.MustCompile(`^man:([a-z-]+)\(([1-8])\)$`)
	for _, u := range units {
		name := strings.TrimPrefix(u, root)
		for _, l := range readUnit(t, u) {
			switch {
			case strings.HasPrefix(l.key, "Exec") && strings.HasPrefix(execPath(l.value), "/usr/bin/credbroker"):
				st, err := os.Stat(filepath.Join(root, execPath(l.value)))
				if err != nil || st.Mode().Perm()&0o111 == 0 {
					t.Errorf("%s: %s=%s: not an executable in the package (%v)", name, l.key, l.value, err)
				}
			case l.key == "Documentation":
				for _, ref := range strings.Fields(l.value) {
					if m := manRE.FindStringSubmatch(ref); m != nil {
						if _, err := os.Stat(filepath.Join(root, "usr/share/man/man"+m[2], m[1]+"."+m[2]+".gz")); err != nil {
							t.Errorf("%s: Documentation=%s: no such man page installed", name, ref)
						}
					} else if p, ok := strings.CutPrefix(ref, "file:"); ok {
						if _, err := os.Stat(filepath.Join(root, p)); err != nil {
							t.Errorf("%s: Documentation=%s: not installed", name, ref)
						}
					} else {
						t.Errorf("%s: Documentation=%s: neither man: nor file:", name, ref)
					}
				}
			}
		}
	}
	// The examples the units and README point at are where they say.
	for _, u := range units {
		for _, m := range regexp.MustCompile(`examples/[a-z-]+\.(conf|hcl)`).FindAll(mustRead(t, u), -1) {
			if _, err := os.Stat(filepath.Join(root, "usr/share/doc/credbroker", string(m))); err != nil {
				t.Errorf("%s mentions %s, which is not installed", strings.TrimPrefix(u, root), m)
			}
		}
	}
}

// checkUserAndDirs checks what postinst made in the root with
// systemd-sysusers and systemd-tmpfiles.
func checkUserAndDirs(t *testing.T, root string) {
	var uid string
	for _, line := range strings.Split(string(mustRead(t, filepath.Join(root, "etc/passwd"))), "\n") {
		f := strings.Split(line, ":")
		if len(f) == 7 && f[0] == "credbroker" {
			uid = f[2]
			if f[5] != "/var/lib/credbroker" || !strings.HasSuffix(f[6], "nologin") {
				t.Errorf("credbroker user: home %q shell %q", f[5], f[6])
			}
		}
	}
	if uid == "" || uid == "0" {
		t.Fatalf("postinst made no system user credbroker (uid %q)", uid)
	}
	for dir, want := range map[string]struct {
		mode fs.FileMode
		uid  string
	}{
		"var/lib/credbroker":      {0o700, uid},
		"etc/credstore.encrypted": {0o700, "0"},
		"etc/credbroker":          {0o755, "0"},
	} {
		st, err := os.Stat(filepath.Join(root, dir))
		if err != nil {
			t.Errorf("/%s: %v", dir, err)
			continue
		}
		if got := fileOwner(st); st.Mode().Perm() != want.mode || got != want.uid {
			t.Errorf("/%s: mode %v owner %s, want %v %s", dir, st.Mode().Perm(), got, want.mode, want.uid)
		}
	}
}

// helpCommands lists the "Available Commands:" of `credbroker ARGS --help`.
func helpCommands(t *testing.T, bin string, args ...string) []string {
	t.Helper()
	out := run(t, nil, bin, append(args, "--help")...)
	_, rest, ok := strings.Cut(out, "Available Commands:\n")
	if !ok {
		return nil
	}
	var cmds []string
	sc := bufio.NewScanner(strings.NewReader(rest))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "  ") {
			break
		}
		cmds = append(cmds, strings.Fields(line)[0])
	}
	return cmds
}

// checkDocsCoverHelp walks the installed binary's --help and checks that
// every command has its installed man page, and that the installed bash and
// fish completions, run in those shells against the installed binary, offer
// each subcommand. The zsh script is syntax-checked.
func checkDocsCoverHelp(t *testing.T, root string) {
	testtool.Need(t, "bash", "fish", "zsh")
	if _, err := os.Stat(bashCompletionLib); err != nil {
		t.Skipf("%s: install bash-completion (as .ci/run does)", bashCompletionLib)
	}
	bin := filepath.Join(root, "usr/bin/credbroker")
	bashScript := filepath.Join(root, "usr/share/bash-completion/completions/credbroker")
	fishScript := filepath.Join(root, "usr/share/fish/vendor_completions.d/credbroker.fish")
	var walk func(path []string)
	seen := 0
	walk = func(path []string) {
		subs := helpCommands(t, bin, path...)
		page := strings.Join(append([]string{"credbroker"}, path...), "-") + ".1.gz"
		checkManPage(t, filepath.Join(root, "usr/share/man/man1", page), path)
		seen++
		if len(subs) == 0 {
			return
		}
		line := strings.Join(append([]string{"credbroker"}, path...), " ")
		bash := bashComplete(t, bashScript, bin, path)
		fish := fishComplete(t, fishScript, bin, path)
		for _, s := range subs {
			if s == "help" {
				continue // cobra's help command has no page of its own
			}
			if !slices.Contains(bash, s) {
				t.Errorf("bash: completing %q offers %v, not %q", line, bash, s)
			}
			if !slices.Contains(fish, s) {
				t.Errorf("fish: completing %q offers %v, not %q", line, fish, s)
			}
			walk(append(slices.Clone(path), s))
		}
	}
	walk(nil)
	if seen < 15 {
		t.Errorf("walked only %d commands", seen)
	}

	run(t, nil, "zsh", "-n", filepath.Join(root, "usr/share/zsh/vendor-completions/_credbroker"))
}

// fishComplete asks fish for the completions of `credbroker PATH... `
// (complete -C), with the installed script and binary; cobra's fish script
// calls the command of the line, so the line starts with the binary's path.
func fishComplete(t *testing.T, script, bin string, path []string) []string {
	t.Helper()
	line := strings.Join(append([]string{bin}, path...), " ") + " "
	prog := "source '" + script + "'; complete -C '" + line + "'"
	out := run(t, []string{"HOME=" + t.TempDir()}, "fish", "--no-config", "-c", prog)
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if name, _, _ := strings.Cut(l, "\t"); name != "" {
			got = append(got, name)
		}
	}
	if len(got) == 0 {
		t.Errorf("fish completion of %v offered nothing", path)
	}
	return got
}

// checkManPage checks one installed, gzipped page names its command.
func checkManPage(t *testing.T, path string, cmd []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("no man page for %q: %v", strings.Join(cmd, " "), err)
		return
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	page, err := io.ReadAll(zr)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	name := strings.Join(append([]string{"credbroker"}, cmd...), "-")
	if !bytes.Contains(page, []byte(".SH NAME\n"+name+" - ")) || !bytes.Contains(page, []byte(".SH SYNOPSIS")) {
		t.Errorf("%s does not describe %s", path, name)
	}
}

// bashCompletionLib is bash-completion's library, which cobra's script needs
// (the scripts in its completions/ directory are loaded by it).
const bashCompletionLib = "/usr/share/bash-completion/bash_completion"

// bashComplete sources bash-completion and the completion script and asks
// them, as the shell would on TAB, to complete `credbroker PATH... <TAB>`,
// with the installed binary as credbroker.
func bashComplete(t *testing.T, script, bin string, path []string) []string {
	t.Helper()
	words := append(append([]string{bin}, path...), "")
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = "'" + w + "'"
	}
	prog := "source " + bashCompletionLib + "\nsource '" + script + "'\n" +
		"COMP_WORDS=(" + strings.Join(quoted, " ") + ")\n" +
		"COMP_CWORD=" + strconv.Itoa(len(words)-1) + "\n" +
		"COMP_LINE=\"${COMP_WORDS[*]}\"\nCOMP_POINT=${#COMP_LINE}\nCOMP_TYPE=9\n" +
		"__start_credbroker\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
	out := run(t, nil, "bash", "--norc", "--noprofile", "-c", prog)
	var got []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			got = append(got, f[0])
		}
	}
	if len(got) == 0 {
		t.Errorf("bash completion of %v offered nothing", path)
	}
	return got
}

// checkRPM compares the .rpm's files with the .deb's (zsh's vendor path
// differs by distribution) and checks its config and scriptlets.
func checkRPM(t *testing.T, b built) {
	list := func(out string, strip string) []string {
		var files []string
		for _, line := range strings.Split(out, "\n") {
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			if strip != "" {
				f := strings.Fields(line)
				if !strings.HasPrefix(f[0], "-") {
					continue // directories and links
				}
				line = strings.TrimPrefix(f[len(f)-1], ".")
			}
			files = append(files, line)
		}
		slices.Sort(files)
		return files
	}
	deb := list(run(t, nil, "dpkg-deb", "--contents", b.deb), "tar")
	rpmFiles := list(run(t, nil, "rpm", "-qlp", "--noartifact", b.rpm), "")
	rpmFiles = slices.DeleteFunc(rpmFiles, func(f string) bool { return f == "/etc/credbroker" })
	for i, f := range rpmFiles {
		if f == "/usr/share/zsh/site-functions/_credbroker" {
			rpmFiles[i] = "/usr/share/zsh/vendor-completions/_credbroker"
		}
	}
	slices.Sort(rpmFiles)
	if !slices.Equal(deb, rpmFiles) {
		t.Errorf("rpm -qlp and the .deb differ:\n rpm: %v\n deb: %v", rpmFiles, deb)
	}
	if len(deb) < len(expectedFiles) {
		t.Errorf("the .deb has %d files, fewer than the %d expected", len(deb), len(expectedFiles))
	}
	if conf := strings.TrimSpace(run(t, nil, "rpm", "-qcp", b.rpm)); conf != "/etc/credbroker/credbroker.hcl" {
		t.Errorf("rpm -qcp: %q", conf)
	}
	scripts := run(t, nil, "rpm", "-qp", "--scripts", b.rpm)
	for _, s := range []string{"postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet"} {
		if !strings.Contains(scripts, s) {
			t.Errorf("rpm lacks its %s", s)
		}
	}
	if flags := run(t, nil, "rpm", "-qp", "--queryformat", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]", b.rpm); !regexp.MustCompile(`(?m)^/etc/credbroker/credbroker.hcl c*n`).MatchString(flags) {
		t.Errorf("the config is not %%config(noreplace) in the rpm:\n%s", flags)
	}
}

// fileOwner is the owner's uid of a stat result, as a string.
func fileOwner(st fs.FileInfo) string {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return strconv.FormatUint(uint64(s.Uid), 10)
	}
	return "?"
}

// glibcVersion reads "GLIBC_2.34" or "2.34" as comparable numbers.
func glibcVersion(s string) []int {
	var v []int
	for _, p := range strings.Split(strings.TrimPrefix(s, "GLIBC_"), ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil
		}
		v = append(v, n)
	}
	return v
}

// checkLinkage checks the packaged binary against the libc the packages
// declare: it needs libc.so.6 and nothing else (cgo for PKCS #11 modules, Go's
// own resolver and user lookup), and no libc symbol newer than the .deb's
// "libc6 (>= V)" and the .rpm's "glibc >= V".
func checkLinkage(t *testing.T, bin string, b built) {
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if interp := f.Section(".interp"); interp == nil {
		t.Error("/usr/bin/credbroker is static: make build must link it with cgo, or PKCS #11 tokens cannot be used")
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(libs, []string{"libc.so.6"}) {
		t.Errorf("/usr/bin/credbroker needs %v; the packages declare libc only", libs)
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	newest, newestName := []int{0}, ""
	for _, s := range syms {
		if v := glibcVersion(s.Version); strings.HasPrefix(s.Version, "GLIBC_") && v != nil && slices.Compare(v, newest) > 0 {
			newest, newestName = v, s.Version
		}
	}
	deb := regexp.MustCompile(`libc6 \(>= ([0-9.]+)\)`).FindStringSubmatch(run(t, nil, "dpkg-deb", "--field", b.deb, "Depends"))
	rpm := regexp.MustCompile(`(?m)^glibc >= ([0-9.]+)$`).FindStringSubmatch(run(t, nil, "rpm", "-qpR", b.rpm))
	if deb == nil || rpm == nil {
		t.Fatalf("the packages declare no libc: .deb %v, .rpm %v", deb, rpm)
	}
	for _, declared := range []string{deb[1], rpm[1]} {
		if slices.Compare(newest, glibcVersion(declared)) > 0 {
			t.Errorf("/usr/bin/credbroker needs %s, the packages declare %s", newestName, declared)
		}
	}
}

// checkPackagedPKCS11 proves PKCS #11 as shipped: the binary taken out of the
// .deb (not one built by the test) runs TestE2EX509 of cmd/credbroker, in which the
// broker's x509 source signs CreateSession with a key generated inside a SoftHSM
// token and the aws CLI gets the session through it. The build machine is the
// packages' target (Debian 12, glibc 2.36); checkLinkage covers what the packages
// declare for other hosts.
func checkPackagedPKCS11(t *testing.T, b built) {
	if _, err := os.Stat("/usr/lib/softhsm/libsofthsm2.so"); err != nil {
		t.Skip("needs SoftHSM: apt-get install softhsm2 (as .ci/run does)")
	}
	dir := t.TempDir()
	run(t, nil, "dpkg-deb", "-x", b.deb, dir)
	cmd := exec.Command("go", "test", "-count=1", "-v", "-run", "^TestE2EX509$", "./cmd/credbroker")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CREDBROKER_E2E_BIN="+filepath.Join(dir, "usr/bin/credbroker"))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestE2EX509") {
		t.Fatalf("TestE2EX509 on the packaged binary: %v\n%s", err, out)
	}
}
