//! `sluice preflight`: fixture repositories (npm, Cargo, Python) built at test time with git, one
//! per outcome of each checklist item, asserting the status and the evidence (file and line).
//! Secrets are made up at test time. Where an ecosystem tool (npm, python3 + setuptools) is
//! missing the test asserts the fallback path instead; nothing needs the network.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use sluicebox::config::Config;
use sluicebox::engine::Engine;
use sluicebox::preflight::{self, Item, Options, Report, Status};
use sluicebox::rules::RuleSet;

/// Content rules for these tests only, so they do not depend on the builtin pack's wording.
pub(crate) const RULES: &str = r#"
[[rule]]
id = "github.pat"
description = "GitHub personal access token (classic)"
category = "secret"
severity = "high"
keywords = ["ghp_"]
pattern = '''\b(ghp_[A-Za-z0-9]{36})\b'''
examples = ["t = ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]
negative_examples = ["ghp_short"]

[[rule]]
id = "github.fine-grained-pat"
description = "GitHub fine-grained personal access token"
category = "secret"
severity = "high"
keywords = ["github_pat_"]
pattern = '''\b(github_pat_[A-Za-z0-9_]{40,255})\b'''
examples = ["t = github_pat_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]
negative_examples = ["github_pat_x"]

[[rule]]
id = "test.api-key"
description = "made-up live API key"
category = "secret"
severity = "high"
keywords = ["sk_live_"]
pattern = '''\b(sk_live_[A-Za-z0-9]{24})\b'''
examples = ["k = sk_live_aaaaaaaaaaaaaaaaaaaaaaaa"]
negative_examples = ["sk_live_x"]
"#;

const SHA: &str = "b4ffde65f46336ab88eb53be808477a3936bae11";

/// A made-up token body: `n` alphanumerics from a seeded generator.
pub(crate) fn fake(prefix: &str, n: usize, seed: u64) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut s = prefix.to_string();
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push(ABC[(x % ABC.len() as u64) as usize] as char);
    }
    s
}

pub(crate) fn has(program: &str, args: &[&str]) -> bool {
    Command::new(program).args(args).output().is_ok_and(|o| o.status.success())
}

pub(crate) struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    /// An empty directory (not a git repository).
    pub(crate) fn plain() -> Fixture {
        Fixture { dir: tempfile::tempdir().unwrap() }
    }

    /// An empty git repository.
    pub(crate) fn git() -> Fixture {
        let f = Fixture::plain();
        f.git_ok(&["init", "-q", "."]);
        f
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn write(&self, rel: &str, text: &str) -> &Fixture {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    pub(crate) fn git_out(&self, args: &[&str]) -> std::process::Output {
        Command::new("git")
            .arg("-C")
            .arg(self.path())
            .args([
                "-c",
                "user.email=t@example.com",
                "-c",
                "user.name=t",
                "-c",
                "commit.gpgSign=false",
                "-c",
                "tag.gpgSign=false",
            ])
            .args(args)
            .output()
            .unwrap()
    }

    pub(crate) fn git_ok(&self, args: &[&str]) -> String {
        let out = self.git_out(args);
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub(crate) fn commit(&self) -> &Fixture {
        self.git_ok(&["add", "-A"]);
        self.git_ok(&["commit", "-qm", "fixture", "--allow-empty"]);
        self
    }

    pub(crate) fn run(&self) -> Report {
        check(&offline(self.path()))
    }
}

/// Options for `dir` with the dependency auditors off: they would ask the network
/// (`tests/review.rs` runs them against recorded responses).
pub(crate) fn offline(dir: impl Into<std::path::PathBuf>) -> Options {
    let mut o = Options::new(dir);
    o.audit.offline = true;
    o
}

/// Runs preflight with the test rules.
pub(crate) fn check(opts: &Options) -> Report {
    check_with(opts, &Config { builtin_rules: false, threads: 1, ..Config::default() })
}

/// Runs preflight with the test rules and `config`.
pub(crate) fn check_with(opts: &Options, config: &Config) -> Report {
    let mut rules = RuleSet::default();
    rules.add_toml("preflight-test-rules", RULES).unwrap();
    let engine = Engine::new(rules).unwrap();
    preflight::run(opts, config, &engine).unwrap()
}

pub(crate) fn item<'a>(report: &'a Report, id: &str) -> &'a Item {
    report.items.iter().find(|i| i.id == id).unwrap_or_else(|| {
        let ids: Vec<&str> = report.items.iter().map(|i| i.id.as_str()).collect();
        panic!("no item {id} in {ids:?}")
    })
}

/// Asserts `id` has `status`; returns it.
#[track_caller]
pub(crate) fn status<'a>(report: &'a Report, id: &str, want: Status) -> &'a Item {
    let it = item(report, id);
    assert_eq!(it.status, want, "{id}: {it:#?}");
    it
}

/// The (path, line) pairs of an item's evidence.
fn at(item: &Item) -> Vec<(&str, Option<u64>)> {
    item.evidence.iter().map(|e| (e.path.as_str(), e.line)).collect()
}

fn careless_workflow(uses: &str, extra: &str) -> String {
    format!(
        "name: release
on: {{push: {{tags: ['v*']}}}}
permissions: {{contents: read, id-token: write}}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: {uses}
      - run: npm test
  publish:
    needs: test
    runs-on: ubuntu-latest
    steps:
      - uses: {uses}
      - run: npm publish{extra}
"
    )
}

/// The careless npm package of the conformance check, plus a `.env` secret.
fn npm_careless() -> Fixture {
    let f = Fixture::git();
    f.write("package.json", "{\n  \"name\": \"widget\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": {\n    \"left-pad\": \"^1.3.0\"\n  }\n}\n")
        .write(".env", &format!("API_KEY={}\n", fake("sk_live_", 24, 1)))
        .write("dist/index.js", "module.exports = 1;\n")
        .write(
            ".github/workflows/release.yml",
            &careless_workflow("actions/checkout@v4", "\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}"),
        )
        .commit();
    f
}

fn npm_careful() -> Fixture {
    let f = Fixture::git();
    f.write(
        "package.json",
        "{\n  \"name\": \"widget\",\n  \"version\": \"1.0.0\",\n  \"files\": [\"dist\"],\n  \"publishConfig\": {\"provenance\": true},\n  \"dependencies\": {\"left-pad\": \"1.3.0\"}\n}\n",
    )
    // Not in the allow-list: must not be in the publish set (when npm can list it).
    .write(".env", &format!("API_KEY={}\n", fake("sk_live_", 24, 2)))
    .write("dist/index.js", "module.exports = 1;\n")
    .write("SECURITY.md", "# Security\n\nReport vulnerabilities to security@widget.example.\n")
    .write("package-lock.json", "{\"lockfileVersion\": 3, \"packages\": {}}\n")
    .write(".github/workflows/release.yml", &careless_workflow(&format!("actions/checkout@{SHA}"), " --provenance"))
    .commit();
    f
}

#[test]
fn npm_careless_repository() {
    let f = npm_careless();
    let r = f.run();
    let npm = has("npm", &["--version"]);
    status(&r, "publish-set.tool.npm", if npm { Status::Pass } else { Status::Warn });
    let allow = status(&r, "publish-set.allow-list.npm", Status::Warn);
    assert_eq!(at(allow), [("package.json", None)]);
    let scan = status(&r, "publish-set.scan", Status::Fail);
    assert!(
        scan.evidence.iter().any(|e| e.path == ".env" && e.line == Some(1) && e.note.starts_with("test.api-key")),
        "{scan:#?}"
    );
    let pins = status(&r, "build-integrity.pinned-actions", Status::Warn);
    let wf = ".github/workflows/release.yml";
    assert_eq!(at(pins), [(wf, Some(8)), (wf, Some(14))]);
    let prov = status(&r, "provenance.npm", Status::Warn);
    assert_eq!(at(prov), [(wf, Some(15))]);
    assert!(prov.evidence[0].note.contains("NPM_TOKEN"));
    let tokens = status(&r, "provenance.long-lived-tokens", Status::Warn);
    assert_eq!(at(tokens), [(wf, Some(17))]);
    assert!(tokens.fix.as_deref().unwrap().contains("trusted publishing"));
    let ranges = status(&r, "dependencies.ranges.npm", Status::Warn);
    assert_eq!(at(ranges), [("package.json", Some(5))]);
    assert!(ranges.evidence[0].note.contains("^1.3.0"));
    status(&r, "dependencies.lockfile.npm", Status::Warn);
    status(&r, "dependencies.audit.npm", Status::Manual);
    status(&r, "disclosure.security-policy", Status::Warn);
    let gate = status(&r, "tests-gate.publish-needs-tests", Status::Pass);
    assert_eq!(at(gate), [(wf, Some(9))]);
    assert_eq!(r.exit_code(false), 1);
}

#[test]
fn npm_careful_repository() {
    let f = npm_careful();
    let r = f.run();
    let fails: Vec<&str> = r.items.iter().filter(|i| i.status == Status::Fail).map(|i| i.id.as_str()).collect();
    let wf = ".github/workflows/release.yml";
    if has("npm", &["--version"]) {
        // Exactly the publish set: the `.env` outside `files` is not scanned.
        assert!(fails.is_empty(), "{fails:?}");
        assert_eq!(r.publish_files, 2);
        status(&r, "publish-set.scan", Status::Pass);
        assert_eq!(r.exit_code(false), 0);
    } else {
        status(&r, "publish-set.tool.npm", Status::Warn);
        assert_eq!(fails, ["publish-set.scan"]);
    }
    let allow = status(&r, "publish-set.allow-list.npm", Status::Pass);
    assert_eq!(at(allow), [("package.json", Some(4))]);
    status(&r, "build-integrity.pinned-actions", Status::Pass);
    status(&r, "build-integrity.publish-in-ci", Status::Pass);
    let prov = status(&r, "provenance.npm", Status::Pass);
    assert_eq!(at(prov), [(wf, Some(15))]);
    status(&r, "provenance.long-lived-tokens", Status::Pass);
    status(&r, "dependencies.ranges.npm", Status::Pass);
    let lock = status(&r, "dependencies.lockfile.npm", Status::Pass);
    assert_eq!(at(lock), [("package-lock.json", None)]);
    let policy = status(&r, "disclosure.security-policy", Status::Pass);
    assert_eq!(at(policy), [("SECURITY.md", Some(3))]);
    status(&r, "account.classic-tokens", Status::Pass);
    status(&r, "account.mfa", Status::Manual);
}

#[test]
fn npmignore_only_is_a_warn() {
    let f = Fixture::git();
    f.write("package.json", "{\"name\": \"w\", \"version\": \"1.0.0\"}\n")
        .write(".npmignore", "test/\n")
        .write("index.js", "1\n")
        .commit();
    let r = f.run();
    let allow = status(&r, "publish-set.allow-list.npm", Status::Warn);
    assert_eq!(at(allow), [(".npmignore", None)]);
    status(&r, "dependencies.lockfile.npm", Status::Pass); // no dependencies
}

#[test]
fn missing_tool_falls_back_to_the_directory() {
    let f = Fixture::plain();
    f.write("notes.txt", &format!("token {}\n", fake("sk_live_", 24, 3)));
    let r = f.run();
    let tool = status(&r, "publish-set.tool", Status::Warn);
    assert!(tool.title.contains("whole directory"));
    let scan = status(&r, "publish-set.scan", Status::Fail);
    assert_eq!(at(scan), [("notes.txt", Some(1))]);
    // Outside git: signing cannot be checked.
    status(&r, "signing.latest-tag", Status::Manual);
}

#[test]
fn no_tools_scans_the_directory() {
    let f = npm_careful();
    let r = check(&Options { run_tools: false, ..offline(f.path()) });
    status(&r, "publish-set.tool", Status::Manual);
    let scan = status(&r, "publish-set.scan", Status::Fail);
    assert_eq!(at(scan), [(".env", Some(1))]);
}

#[test]
fn large_files_are_a_warn() {
    let f = Fixture::plain();
    f.write("big.bin", &"x".repeat(2000)).write("small.txt", "x");
    let r = check(&Options { large_file: 1000, ..offline(f.path()) });
    let big = status(&r, "publish-set.large-files", Status::Warn);
    assert_eq!(at(big), [("big.bin", None)]);
    status(&f.run(), "publish-set.large-files", Status::Pass);
}

fn workflow_fixture(workflow: &str) -> Report {
    let f = Fixture::git();
    f.write("package.json", "{\"name\": \"w\", \"version\": \"1.0.0\", \"files\": [\"index.js\"]}\n")
        .write("index.js", "1\n")
        .write(".github/workflows/ci.yml", workflow)
        .commit();
    f.run()
}

#[test]
fn publish_job_without_tests_is_a_warn() {
    let r = workflow_fixture(
        "on: push\njobs:\n  test:\n    runs-on: x\n    steps:\n      - run: npm test\n  release:\n    runs-on: x\n    steps:\n      - run: npm publish\n",
    );
    let gate = status(&r, "tests-gate.publish-needs-tests", Status::Warn);
    assert_eq!(at(gate), [(".github/workflows/ci.yml", Some(7))]);
    let ci = status(&r, "build-integrity.publish-in-ci", Status::Pass);
    assert_eq!(at(ci), [(".github/workflows/ci.yml", Some(10))]);
    // No id-token: write anywhere.
    status(&r, "provenance.npm", Status::Warn);
}

#[test]
fn publish_job_running_tests_itself_passes() {
    let r = workflow_fixture(
        "on: push\npermissions:\n  id-token: write\njobs:\n  release:\n    runs-on: x\n    steps:\n      - run: |\n          npm ci\n          npm test\n      - run: npm publish\n",
    );
    let gate = status(&r, "tests-gate.publish-needs-tests", Status::Pass);
    assert_eq!(at(gate), [(".github/workflows/ci.yml", Some(10))]);
    // id-token: write and no token: npm trusted publishing.
    status(&r, "provenance.npm", Status::Pass);
}

#[test]
fn no_publish_job_is_manual_and_warn() {
    let r = workflow_fixture("on: push\njobs:\n  test:\n    runs-on: x\n    steps:\n      - run: npm test\n");
    status(&r, "tests-gate.publish-needs-tests", Status::Manual);
    status(&r, "build-integrity.publish-in-ci", Status::Warn);
    status(&r, "provenance.npm", Status::Warn);
}

#[test]
fn gitlab_stages_gate_the_release() {
    let f = Fixture::git();
    f.write("package.json", "{\"name\": \"w\", \"version\": \"1.0.0\", \"files\": [\"index.js\"]}\n")
        .write("index.js", "1\n")
        .write(
            ".gitlab-ci.yml",
            "stages: [test, deploy]\nunit:\n  stage: test\n  script:\n    - npm test\npublish:\n  stage: deploy\n  script:\n    - npm publish\n    - echo $NPM_TOKEN\n",
        )
        .commit();
    let r = f.run();
    let gate = status(&r, "tests-gate.publish-needs-tests", Status::Pass);
    assert_eq!(at(gate), [(".gitlab-ci.yml", Some(5))]);
    let tokens = status(&r, "provenance.long-lived-tokens", Status::Warn);
    assert_eq!(at(tokens), [(".gitlab-ci.yml", Some(10))]);
}

#[test]
fn toolchains_must_be_exact() {
    let loose = workflow_fixture(
        "on: push\njobs:\n  release:\n    runs-on: x\n    steps:\n      - uses: actions/setup-node@v4\n        with:\n          node-version: 20\n      - run: npm test && npm publish\n",
    );
    let t = status(&loose, "build-integrity.pinned-toolchains", Status::Warn);
    assert_eq!(at(t), [(".github/workflows/ci.yml", Some(8))]);
    let exact = workflow_fixture(
        "on: push\njobs:\n  release:\n    runs-on: x\n    strategy:\n      matrix:\n        node: [20.11.1]\n    steps:\n      - uses: actions/setup-node@v4\n        with:\n          node-version: ${{ matrix.node }}\n      - run: npm test && npm publish\n",
    );
    let t = status(&exact, "build-integrity.pinned-toolchains", Status::Pass);
    assert_eq!(at(t), [(".github/workflows/ci.yml", Some(11))]);
    let none =
        workflow_fixture("on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n      - uses: actions/setup-python@v5\n");
    let t = status(&none, "build-integrity.pinned-toolchains", Status::Warn);
    assert!(t.evidence[0].note.contains("without a version"));
}

#[test]
fn no_ci_is_a_warn() {
    let f = Fixture::git();
    f.write("package.json", "{\"name\": \"w\", \"version\": \"1.0.0\"}\n").commit();
    let r = f.run();
    status(&r, "build-integrity.publish-in-ci", Status::Warn);
    status(&r, "build-integrity.pinned-actions", Status::Pass);
    status(&r, "provenance.long-lived-tokens", Status::Pass);
}

fn python_fixture(workflow: &str) -> Fixture {
    let f = Fixture::git();
    f.write(
        "pyproject.toml",
        "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"pk\"\nversion = \"1.0\"\ndependencies = [\n  \"requests>=2\",\n  \"attrs==23.1.0\",\n]\n",
    )
    .write("src/pk/__init__.py", "x = 1\n")
    .write(".github/workflows/publish.yml", workflow)
    .commit();
    f
}

const PYPI_TRUSTED: &str = "on: {release: {types: [published]}}
jobs:
  test:
    runs-on: x
    steps:
      - run: pytest
  pypi:
    needs: [test]
    runs-on: x
    permissions:
      id-token: write
    steps:
      - uses: pypa/gh-action-pypi-publish@release/v1
";

#[test]
fn python_trusted_publishing_and_sdist() {
    let f = python_fixture(PYPI_TRUSTED);
    f.write(".env", &format!("K={}\n", fake("sk_live_", 24, 4)));
    let r = f.run();
    let prov = status(&r, "provenance.python", Status::Pass);
    assert_eq!(at(prov), [(".github/workflows/publish.yml", Some(13))]);
    status(&r, "tests-gate.publish-needs-tests", Status::Pass);
    let ranges = status(&r, "dependencies.ranges.python", Status::Warn);
    assert_eq!(at(ranges), [("pyproject.toml", Some(9))]);
    let direct = status(&r, "dependencies.direct.python", Status::Pass);
    assert!(direct.title.contains(": 2 runtime,"), "{}", direct.title);
    status(&r, "dependencies.audit.python", Status::Manual);
    status(&r, "publish-set.allow-list.python", Status::Warn);
    let sdist = has("python3", &["-c", "import setuptools.build_meta"]);
    if sdist {
        // The untracked .env is not in the sdist (setuptools ships packages and metadata).
        status(&r, "publish-set.tool.python", Status::Pass);
        status(&r, "publish-set.scan", Status::Pass);
        assert!(!f.path().join("src/pk.egg-info").exists(), "build leftovers are removed");
    } else {
        status(&r, "publish-set.tool.python", Status::Warn);
        status(&r, "publish-set.scan", Status::Fail);
    }
}

#[test]
fn python_api_token_is_a_warn() {
    let wf = PYPI_TRUSTED.replace(
        "      - uses: pypa/gh-action-pypi-publish@release/v1\n",
        "      - uses: pypa/gh-action-pypi-publish@release/v1\n        with:\n          password: ${{ secrets.PYPI_API_TOKEN }}\n",
    );
    let f = python_fixture(&wf);
    f.write("MANIFEST.in", "include src/pk/*.py\n").commit();
    let r = f.run();
    let prov = status(&r, "provenance.python", Status::Warn);
    assert_eq!(at(prov), [(".github/workflows/publish.yml", Some(15))]);
    let tokens = status(&r, "provenance.long-lived-tokens", Status::Warn);
    assert_eq!(at(tokens), [(".github/workflows/publish.yml", Some(15))]);
    assert!(tokens.fix.as_deref().unwrap().contains("PyPI trusted publishing"));
    let allow = status(&r, "publish-set.allow-list.python", Status::Pass);
    assert_eq!(at(allow), [("MANIFEST.in", Some(1))]);
}

fn cargo_fixture(package_extra: &str, deps: &str) -> Fixture {
    let f = Fixture::git();
    f.write(
        "Cargo.toml",
        &format!("[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{package_extra}\n[dependencies]\n{deps}"),
    )
    .write("src/lib.rs", "pub fn f() {}\n")
    .write("notes/secret.txt", &format!("{}\n", fake("ghp_", 36, 5)))
    .commit();
    f
}

#[test]
fn cargo_include_allow_list() {
    let f = cargo_fixture("include = [\"src/**\", \"Cargo.toml\"]", "");
    let r = f.run();
    let allow = status(&r, "publish-set.allow-list.cargo", Status::Pass);
    assert_eq!(at(allow), [("Cargo.toml", Some(5))]);
    // notes/ is outside `include`: not in the publish set, so not found.
    status(&r, "publish-set.tool.cargo", Status::Pass);
    status(&r, "publish-set.scan", Status::Pass);
    status(&r, "account.classic-tokens", Status::Pass);
    status(&r, "dependencies.lockfile.cargo", Status::Pass); // no dependencies
    assert!(!f.path().join("target").exists() && !f.path().join("Cargo.lock").exists(), "cargo leaves no trace");
}

#[test]
fn cargo_without_allow_list_ships_the_classic_token() {
    let f = cargo_fixture(
        "exclude = [\"tests/\"]",
        "serde = \"*\"\nfoo = { git = \"https://example.com/foo\", branch = \"main\" }\nbar = \"1.2\"\n",
    );
    let r = f.run();
    let allow = status(&r, "publish-set.allow-list.cargo", Status::Warn);
    assert_eq!(at(allow), [("Cargo.toml", Some(5))]);
    // `cargo package --list --offline` cannot resolve serde/foo without a registry cache or
    // network, or it can: either way notes/secret.txt ships (listed, or by the fallback scan).
    let scan = status(&r, "publish-set.scan", Status::Fail);
    assert!(scan.evidence.iter().any(|e| e.path == "notes/secret.txt" && e.line == Some(1)), "{scan:#?}");
    let classic = status(&r, "account.classic-tokens", Status::Fail);
    assert_eq!(at(classic), [("notes/secret.txt", Some(1))]);
    assert!(classic.fix.as_deref().unwrap().contains("fine-grained"));
    let ranges = status(&r, "dependencies.ranges.cargo", Status::Warn);
    let mut lines = at(ranges);
    lines.sort_unstable();
    assert_eq!(lines, [("Cargo.toml", Some(7)), ("Cargo.toml", Some(8))]);
    let lock = status(&r, "dependencies.lockfile.cargo", Status::Warn);
    assert_eq!(at(lock), [("Cargo.lock", None)]);
    let direct = status(&r, "dependencies.direct.cargo", Status::Pass);
    assert!(direct.title.contains(": 3 runtime,"), "{}", direct.title);
}

#[test]
fn fine_grained_token_is_not_classic() {
    let f = cargo_fixture("", "");
    f.write("notes/secret.txt", &format!("{}\n", fake("github_pat_", 60, 6))).commit();
    let r = f.run();
    status(&r, "publish-set.scan", Status::Fail);
    status(&r, "account.classic-tokens", Status::Pass);
}

#[test]
fn lockfile_present_but_not_committed() {
    let f = cargo_fixture("", "bar = \"1.2\"\n");
    f.write("Cargo.lock", "version = 4\n");
    let r = f.run();
    let lock = status(&r, "dependencies.lockfile.cargo", Status::Warn);
    assert_eq!(at(lock), [("Cargo.lock", None)]);
    f.commit();
    status(&f.run(), "dependencies.lockfile.cargo", Status::Pass);
}

#[test]
fn rust_toolchain_file() {
    let f = cargo_fixture("", "");
    // No tools: cargo would try to install the named toolchain.
    let opts = Options { run_tools: false, ..offline(f.path()) };
    f.write("rust-toolchain.toml", "[toolchain]\nchannel = \"stable\"\n").commit();
    let r = check(&opts);
    let t = status(&r, "build-integrity.pinned-toolchains", Status::Warn);
    assert_eq!(at(t), [("rust-toolchain.toml", Some(2))]);
    f.write("rust-toolchain.toml", "[toolchain]\nchannel = \"1.78.0\"\n").commit();
    status(&check(&opts), "build-integrity.pinned-toolchains", Status::Pass);
}

#[test]
fn release_signing() {
    let f = Fixture::git();
    f.write("package.json", "{\"name\": \"w\", \"version\": \"1.0.0\"}\n").commit();
    let r = f.run();
    status(&r, "signing.latest-tag", Status::Warn);
    assert!(item(&r, "signing.latest-tag").title.contains("no release tag"));

    f.git_ok(&["tag", "v0.1.0"]);
    let r1 = f.run();

    let light = status(&r1, "signing.latest-tag", Status::Warn);
    assert_eq!(at(light), [("refs/tags/v0.1.0", None)]);
    assert!(light.title.contains("lightweight"));

    // Tag objects written by hand, with tagger dates after the commit so "latest" is certain.
    // v0.3.0 carries an SSH signature block as `git tag -s` with gpg.format=ssh writes it
    // (preflight detects signatures; verifying needs the signer's key).
    let head = f.git_ok(&["rev-parse", "HEAD"]);
    let tag = |name: &str, when: u64, signature: &str| {
        let object = format!(
            "object {}\ntype commit\ntag {name}\ntagger t <t@example.com> {when} +0000\n\nrelease {name}\n{signature}",
            head.trim()
        );
        let obj = f.path().join("tag-object");
        std::fs::write(&obj, object).unwrap();
        let id = f.git_ok(&["hash-object", "-t", "tag", "-w", obj.to_str().unwrap()]);
        std::fs::remove_file(&obj).unwrap();
        f.git_ok(&["update-ref", &format!("refs/tags/{name}"), id.trim()]);
    };
    tag("v0.2.0", 1_900_000_000, "");
    let r2 = f.run();

    let unsigned = status(&r2, "signing.latest-tag", Status::Warn);
    assert_eq!(at(unsigned), [("refs/tags/v0.2.0", None)]);
    tag("v0.3.0", 2_000_000_000, "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----\n");
    let r3 = f.run();

    let signed = status(&r3, "signing.latest-tag", Status::Pass);
    assert_eq!(at(signed), [("refs/tags/v0.3.0", Some(7))]);

    f.git_ok(&["config", "tag.gpgSign", "true"]);
    let r4 = f.run();

    let cfg = status(&r4, "signing.tag-gpgsign", Status::Pass);
    assert_eq!(cfg.evidence[0].path, ".git/config");
    f.git_ok(&["config", "tag.gpgSign", "false"]);
    status(&f.run(), "signing.tag-gpgsign", Status::Warn);
}

#[test]
fn security_policy_contacts() {
    let f = Fixture::git();
    f.write("package.json", "{\"name\": \"w\", \"version\": \"1.0.0\"}\n")
        .write(".github/SECURITY.md", "# Policy\n\nWe take security seriously.\n")
        .commit();
    let r5 = f.run();

    let none = status(&r5, "disclosure.security-policy", Status::Warn);
    assert_eq!(at(none), [(".github/SECURITY.md", None)]);
    f.write(".github/SECURITY.md", "# Policy\n\nUse GitHub private vulnerability reporting for this repository.\n");
    let r6 = f.run();

    let private = status(&r6, "disclosure.security-policy", Status::Pass);
    assert_eq!(at(private), [(".github/SECURITY.md", Some(3))]);
}

fn sluice(args: &[&str], env_path: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(args);
    if let Some(p) = env_path {
        cmd.env("PATH", p);
    }
    cmd.output().unwrap()
}

#[test]
fn cli_formats_and_exit_codes() {
    let careless = npm_careless();
    let dir = careless.path().to_str().unwrap();
    let out = sluice(&["preflight", dir, "--format", "json"], None);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = doc["items"].as_array().unwrap();
    assert!(items.iter().all(|i| i["id"].is_string() && i["section"].is_string() && i["evidence"].is_array()));
    assert!(items.iter().any(|i| i["id"] == "publish-set.scan" && i["status"] == "fail"));
    assert_eq!(doc["summary"]["exit_code"], 1);

    let out = sluice(&["preflight", dir, "--format", "sarif"], None);
    assert_eq!(out.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["runs"][0]["results"].as_array().unwrap().iter().any(|r| r["level"] == "error"));

    let out = sluice(&["preflight", dir, "--color", "never"], None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("✗ ") && text.contains("! ") && text.contains("? ") && text.contains("fix: "), "{text}");

    // Warns only: 0, or 1 under --strict.
    let warns = Fixture::git();
    warns.write("package.json", "{\"name\": \"w\", \"version\": \"1.0.0\"}\n").commit();
    let wdir = warns.path().to_str().unwrap();
    assert_eq!(sluice(&["preflight", wdir, "--no-builtin-rules"], None).status.code(), Some(0));
    assert_eq!(sluice(&["preflight", wdir, "--no-builtin-rules", "--strict"], None).status.code(), Some(1));

    assert_eq!(sluice(&["preflight", "--no-such-flag"], None).status.code(), Some(2));
    let missing = warns.path().join("no-such-dir");
    assert_eq!(sluice(&["preflight", missing.to_str().unwrap()], None).status.code(), Some(2));
}

#[test]
fn cli_without_tools_on_path_says_so() {
    let f = npm_careful();
    let empty = tempfile::tempdir().unwrap();
    let out = sluice(&["preflight", f.path().to_str().unwrap(), "--format", "json"], Some(empty.path()));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tool = doc["items"].as_array().unwrap().iter().find(|i| i["id"] == "publish-set.tool.npm").unwrap();
    assert_eq!(tool["status"], "warn");
    assert!(tool["evidence"][0]["note"].as_str().unwrap().contains("'npm' is not installed"), "{tool}");
    // Without git on PATH the repository cannot be read either: signing is manual.
    let signing = doc["items"].as_array().unwrap().iter().find(|i| i["id"] == "signing.latest-tag").unwrap();
    assert_eq!(signing["status"], "manual");
    // The fallback scanned the whole directory, so the .env outside `files` is found.
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn cli_applies_sluice_toml() {
    let f = Fixture::git();
    f.write("package.json", "{\"name\": \"w\", \"version\": \"1.0.0\", \"files\": [\"k.txt\"]}\n")
        .write("k.txt", &format!("key = {}\n", fake("sk_live_", 24, 7)))
        .commit();
    let dir = f.path().to_str().unwrap();
    // Outside the package: the rule examples would be findings themselves.
    let elsewhere = Fixture::plain();
    elsewhere.write("rules.toml", RULES);
    let rules = elsewhere.path().join("rules.toml");
    let args =
        ["preflight", dir, "--no-builtin-rules", "--rules", rules.to_str().unwrap(), "--no-tools", "--format", "json"];
    let out = sluice(&args, None);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    f.write("sluice.toml", "disable_rules = [\"test.api-key\"]\n");
    let out = sluice(&args, None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}
