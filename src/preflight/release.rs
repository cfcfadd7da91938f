//! The release pipeline, judged from the CI model of [`super::workflows`]: which steps publish,
//! whether tests gate them, whether actions and toolchains are pinned, provenance and trusted
//! publishing, and long-lived registry tokens in workflow secrets.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use regex_automata::meta::Regex;

use super::workflows::{CiKind, Job, Step, Workflow};
use super::{Ecosystem, Evidence, Item, Manifests, Repo, Section, Status, plural};

/// A registry a step publishes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Registry {
    /// npm.
    Npm,
    /// PyPI.
    Pypi,
    /// crates.io.
    Crates,
    /// RubyGems.
    Gems,
}

impl Registry {
    fn name(self) -> &'static str {
        match self {
            Registry::Npm => "npm",
            Registry::Pypi => "PyPI",
            Registry::Crates => "crates.io",
            Registry::Gems => "RubyGems",
        }
    }

    /// The token-free way to publish to this registry.
    fn trusted(self) -> &'static str {
        match self {
            Registry::Npm => {
                "npm trusted publishing (OIDC: `npm publish` from GitHub Actions with `id-token: write`, npm ≥ 11.5)"
            }
            Registry::Pypi => {
                "PyPI trusted publishing (pypa/gh-action-pypi-publish with `id-token: write`, no password)"
            }
            Registry::Crates => "crates.io trusted publishing (rust-lang/crates-io-auth-action with `id-token: write`)",
            Registry::Gems => "RubyGems trusted publishing (rubygems/release-gem with `id-token: write`)",
        }
    }
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static regex")
}

static NPM_PUBLISH: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:npm|pnpm|bun)\s+publish\b|\byarn\s+(?:npm\s+)?publish\b|\bsemantic-release\b|\bchangeset\s+publish\b|\blerna\s+publish\b",
    )
});
static CARGO_PUBLISH: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\bcargo\s+(?:\+\S+\s+)?(?:publish|release|smart-release)\b|\bcargo[\s-]workspaces?\s+publish\b")
});
static PYPI_PUBLISH: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\btwine\s+upload\b|\b(?:poetry|flit|hatch|uv|pdm)\s+publish\b|\bmaturin\s+(?:publish|upload)\b")
});
static GEM_PUBLISH: LazyLock<Regex> = LazyLock::new(|| re(r"\bgem\s+push\b"));
static RUNS_TESTS: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(?:test|tests|pytest|tox|nox|nextest|jest|vitest|mocha|rspec|ctest|unittest|phpunit)\b")
});
static SECRET_REF: LazyLock<Regex> = LazyLock::new(|| re(r"secrets\.([A-Za-z0-9_]+)"));
static GITLAB_VAR: LazyLock<Regex> = LazyLock::new(|| re(r"\$\{?([A-Z][A-Z0-9_]*)"));
static EXACT_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?|(?:stable|beta|nightly)-\d{4}-\d{2}-\d{2}|nightly-\d{4}-\d{2}-\d{2})$",
    )
});

/// A step that publishes.
#[derive(Clone, Debug)]
struct Publish<'a> {
    wf: &'a Workflow,
    job: &'a Job,
    step: &'a Step,
    registry: Registry,
    /// Line of the publishing command (or `uses:`).
    line: u64,
}

/// The registry a step publishes to, and the line that does it.
fn publishes(step: &Step) -> Option<(Registry, u64)> {
    if let Some((uses, line)) = &step.uses {
        let action = uses.split('@').next().unwrap_or_default().to_ascii_lowercase();
        let registry = match action.as_str() {
            "pypa/gh-action-pypi-publish" => Some(Registry::Pypi),
            "js-devtools/npm-publish" => Some(Registry::Npm),
            "rubygems/release-gem" => Some(Registry::Gems),
            "katyo/publish-crates" => Some(Registry::Crates),
            "changesets/action" if step.with.contains_key("publish") => Some(Registry::Npm),
            _ => None,
        };
        return registry.map(|r| (r, *line));
    }
    let (run, first) = step.run.as_ref()?;
    for (i, l) in run.lines().enumerate() {
        if l.contains("--dry-run") || l.trim_start().starts_with('#') {
            continue;
        }
        let registry = if NPM_PUBLISH.is_match(l) {
            Registry::Npm
        } else if CARGO_PUBLISH.is_match(l) {
            Registry::Crates
        } else if PYPI_PUBLISH.is_match(l) {
            Registry::Pypi
        } else if GEM_PUBLISH.is_match(l) {
            Registry::Gems
        } else {
            continue;
        };
        return Some((registry, first + i as u64));
    }
    None
}

/// The line of a step in `job` that runs tests.
fn runs_tests(job: &Job) -> Option<u64> {
    job.steps.iter().find_map(|s| {
        let (run, first) = s.run.as_ref()?;
        run.lines()
            .enumerate()
            .find(|(_, l)| RUNS_TESTS.is_match(l) && !l.trim_start().starts_with('#'))
            .map(|(i, _)| first + i as u64)
    })
}

/// A job (or one it transitively needs, or on GitLab one in an earlier stage) that runs tests.
fn gating_tests<'a>(wf: &'a Workflow, job: &'a Job) -> Option<(&'a Job, u64)> {
    let by_id: HashMap<&str, &Job> = wf.jobs.iter().map(|j| (j.id.as_str(), j)).collect();
    let mut seen = BTreeSet::new();
    let mut todo = vec![job];
    while let Some(j) = todo.pop() {
        if !seen.insert(j.id.as_str()) {
            continue;
        }
        if let Some(line) = runs_tests(j) {
            return Some((j, line));
        }
        todo.extend(j.needs.iter().filter_map(|n| by_id.get(n.as_str()).copied()));
    }
    if wf.kind == CiKind::GitLab && job.needs.is_empty() {
        // Without `needs`, a GitLab job starts only after every job of the earlier stages passed.
        let rank = |j: &Job| j.stage.as_ref().and_then(|s| wf.stages.iter().position(|x| x == s));
        let mine = rank(job)?;
        return wf
            .jobs
            .iter()
            .filter(|j| rank(j).is_some_and(|r| r < mine))
            .find_map(|j| runs_tests(j).map(|l| (j, l)));
    }
    None
}

/// Adds the tests-gate, build-integrity and provenance items.
pub fn check(repo: &Repo, manifests: &Manifests, ecosystems: &[Ecosystem], ci: &[Workflow], items: &mut Vec<Item>) {
    for wf in ci.iter().filter(|w| w.error.is_some()) {
        items.push(
            Item::new(
                "build-integrity.ci-parse",
                Section::BuildIntegrity,
                Status::Warn,
                format!("{} does not parse", wf.path),
            )
            .with(Evidence::new(wf.path.clone(), None, wf.error.clone().unwrap_or_default()))
            .fix("fix the YAML: CI cannot run it either"),
        );
    }
    let mut publish = Vec::new();
    for wf in ci {
        for job in &wf.jobs {
            for step in &job.steps {
                if let Some((registry, line)) = publishes(step) {
                    publish.push(Publish { wf, job, step, registry, line });
                }
            }
        }
    }
    tests_gate(&publish, items);
    publish_in_ci(&publish, ci, items);
    pinned_actions(ci, items);
    pinned_toolchains(repo, ecosystems, &publish, ci, items);
    for &eco in ecosystems {
        items.push(provenance(eco, manifests, &publish));
    }
    tokens(ci, items);
}

fn tests_gate(publish: &[Publish], items: &mut Vec<Item>) {
    const ID: &str = "tests-gate.publish-needs-tests";
    if publish.is_empty() {
        items.push(
            Item::new(
                ID,
                Section::TestsGate,
                Status::Manual,
                "no publishing job in CI: nothing makes the tests gate a release",
            )
            .fix(
                "run the full test suite before every manual publish, or publish from a CI job that needs the test job",
            ),
        );
        return;
    }
    let mut seen = BTreeSet::new();
    let (mut gated, mut ungated) = (Vec::new(), Vec::new());
    for p in publish {
        if !seen.insert((p.wf.path.as_str(), p.job.id.as_str())) {
            continue;
        }
        if let Some((j, line)) = gating_tests(p.wf, p.job) {
            let how = if j.id == p.job.id {
                "runs the tests itself".to_string()
            } else {
                format!("needs job '{}', which runs the tests", j.id)
            };
            gated.push(Evidence::new(p.wf.path.clone(), Some(line), format!("publishing job '{}' {how}", p.job.id)));
        } else if let Some(line) = p.wf.workflow_run {
            gated.push(Evidence::new(
                p.wf.path.clone(),
                Some(line),
                format!("job '{}' runs after another workflow (workflow_run)", p.job.id),
            ));
        } else {
            ungated.push(Evidence::new(
                p.wf.path.clone(),
                Some(p.job.line),
                format!("job '{}' publishes without running or needing tests", p.job.id),
            ));
        }
    }
    let item = if ungated.is_empty() {
        Item::new(ID, Section::TestsGate, Status::Pass, "every publishing job depends on the tests")
    } else {
        Item::new(
            ID,
            Section::TestsGate,
            Status::Warn,
            format!("{} not gated by the tests", plural(ungated.len(), "publishing job")),
        )
        .fix("add `needs: [test]` to the publishing job (or run the tests in it)")
    };
    items.push(Item { evidence: ungated.into_iter().chain(gated).collect(), ..item });
}

fn publish_in_ci(publish: &[Publish], ci: &[Workflow], items: &mut Vec<Item>) {
    const ID: &str = "build-integrity.publish-in-ci";
    if publish.is_empty() {
        let note = if ci.is_empty() { "no CI configuration found" } else { "no step runs a publish command" };
        items.push(
            Item::new(
                ID,
                Section::BuildIntegrity,
                Status::Warn,
                "releases are not published from CI (only from a laptop)",
            )
            .with(Evidence::new(".github/workflows", None, note))
            .fix("publish from a CI job triggered by a release tag: a clean, logged build that can carry provenance"),
        );
        return;
    }
    let mut item = Item::new(ID, Section::BuildIntegrity, Status::Pass, "releases are published from CI");
    for p in publish {
        item = item.with(Evidence::new(
            p.wf.path.clone(),
            Some(p.line),
            format!("job '{}' publishes to {}", p.job.id, p.registry.name()),
        ));
    }
    items.push(item);
}

/// Is `uses` pinned to a full commit SHA (or a docker digest)? `None` for local actions.
fn action_pin(uses: &str) -> Option<Result<(), String>> {
    if uses.starts_with("./") {
        return None;
    }
    if let Some(image) = uses.strip_prefix("docker://") {
        return Some(if image.contains("@sha256:") { Ok(()) } else { Err("docker image without a digest".into()) });
    }
    match uses.rsplit_once('@') {
        Some((_, r)) if r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit()) => Some(Ok(())),
        Some((_, r)) => Some(Err(format!("pinned to '{r}', a movable tag or branch"))),
        None => Some(Err("no ref".into())),
    }
}

fn pinned_actions(ci: &[Workflow], items: &mut Vec<Item>) {
    const ID: &str = "build-integrity.pinned-actions";
    let (mut total, mut loose) = (0, Vec::new());
    for wf in ci.iter().filter(|w| w.kind == CiKind::GitHub) {
        for job in &wf.jobs {
            let uses = job.uses.iter().chain(job.steps.iter().filter_map(|s| s.uses.as_ref()));
            for (u, line) in uses {
                match action_pin(u) {
                    None => {}
                    Some(Ok(())) => total += 1,
                    Some(Err(why)) => {
                        total += 1;
                        loose.push(Evidence::new(wf.path.clone(), Some(*line), format!("{u}: {why}")));
                    }
                }
            }
        }
    }
    let item = if total == 0 {
        Item::new(ID, Section::BuildIntegrity, Status::Pass, "no third-party GitHub Actions used")
    } else if loose.is_empty() {
        Item::new(
            ID,
            Section::BuildIntegrity,
            Status::Pass,
            format!("{} pinned to a full commit SHA", plural(total, "action reference")),
        )
    } else {
        Item::new(
            ID,
            Section::BuildIntegrity,
            Status::Warn,
            format!("{} of {} not pinned to a full commit SHA", loose.len(), plural(total, "action reference")),
        )
        .fix(
            "pin each action to a 40-hex commit SHA (`uses: owner/repo@<sha> # v4.1.1`); Dependabot keeps them current",
        )
    };
    items.push(Item { evidence: loose, ..item });
}

/// Setup actions and the inputs that name a version (or a version file).
const SETUP: &[(&str, &str, &str)] = &[
    ("actions/setup-node", "node-version", "node-version-file"),
    ("actions/setup-python", "python-version", "python-version-file"),
    ("actions/setup-go", "go-version", "go-version-file"),
    ("actions/setup-java", "java-version", "java-version-file"),
    ("ruby/setup-ruby", "ruby-version", "ruby-version-file"),
    ("pnpm/action-setup", "version", "package-json-file"),
    ("dtolnay/rust-toolchain", "toolchain", ""),
    ("actions-rs/toolchain", "toolchain", ""),
];

/// `rust-toolchain.toml` / `rust-toolchain` at the root: (file, line, channel).
fn rust_toolchain_file(repo: &Repo) -> Option<(String, u64, String)> {
    for name in ["rust-toolchain.toml", "rust-toolchain"] {
        let path = repo.root.join(name);
        let Some(text) = super::read_text(&path) else { continue };
        let rel = repo.rel(&path);
        if let Ok(t) = toml::from_str::<toml::Table>(&text)
            && let Some(ch) = t.get("toolchain").and_then(|t| t.get("channel")).and_then(toml::Value::as_str)
        {
            return Some((rel, super::line_of(&text, "channel", 1).unwrap_or(1), ch.to_string()));
        }
        let first = text.lines().next().unwrap_or_default().trim().to_string();
        return Some((rel, 1, first));
    }
    None
}

/// The versions a setup input names, with `${{ matrix.X }}` expanded from the job's matrix.
fn versions(value: &str, job: &Job) -> Vec<String> {
    let v = value.trim();
    if let Some(inner) = v.strip_prefix("${{").and_then(|r| r.strip_suffix("}}"))
        && let Some(axis) = inner.trim().strip_prefix("matrix.")
        && let Some(values) = job.matrix.get(axis.trim())
    {
        return values.clone();
    }
    vec![v.to_string()]
}

fn pinned_toolchains(
    repo: &Repo,
    ecosystems: &[Ecosystem],
    publish: &[Publish],
    ci: &[Workflow],
    items: &mut Vec<Item>,
) {
    const ID: &str = "build-integrity.pinned-toolchains";
    let (mut good, mut loose) = (Vec::new(), Vec::new());
    let rust_file = rust_toolchain_file(repo);
    let rust_pinned = rust_file.as_ref().is_some_and(|(_, _, ch)| EXACT_VERSION.is_match(ch));
    if let Some((file, line, ch)) = &rust_file {
        let ev = Evidence::new(file.clone(), Some(*line), format!("channel '{ch}'"));
        if rust_pinned { good.push(ev) } else { loose.push(ev) }
    } else if ecosystems.contains(&Ecosystem::Cargo) && !publish.is_empty() {
        // Only said when there is a CI build to pin: a laptop build uses whatever is installed.
        loose.push(Evidence::new(
            "rust-toolchain.toml",
            None,
            "no rust-toolchain.toml: CI builds with whatever stable is current",
        ));
    }
    // The jobs that build the artifact: the publishing jobs, or every job when none publishes.
    let scope: Vec<(&Workflow, &Job)> = if publish.is_empty() {
        ci.iter().flat_map(|w| w.jobs.iter().map(move |j| (w, j))).collect()
    } else {
        let mut seen = BTreeSet::new();
        publish.iter().filter(|p| seen.insert((p.wf.path.as_str(), p.job.id.as_str()))).map(|p| (p.wf, p.job)).collect()
    };
    for (wf, job) in scope {
        for step in &job.steps {
            let Some((uses, line)) = &step.uses else { continue };
            let (action, r) = uses.split_once('@').unwrap_or((uses, ""));
            let Some(&(_, key, file_key)) = SETUP.iter().find(|(a, ..)| action.eq_ignore_ascii_case(a)) else {
                continue;
            };
            let is_rust = action.contains("rust");
            if is_rust && rust_pinned {
                continue;
            }
            let value = step.with.get(key).map(|(v, l)| (v.clone(), *l)).or_else(|| {
                // dtolnay/rust-toolchain takes the toolchain as its ref: `@1.78.0`, `@stable`.
                (action.eq_ignore_ascii_case("dtolnay/rust-toolchain")
                    && !r.is_empty()
                    && r.len() != 40
                    && r != "master")
                    .then(|| (r.to_string(), *line))
            });
            let at = |l: u64, note: String| {
                Evidence::new(wf.path.clone(), Some(l), format!("job '{}': {action} {note}", job.id))
            };
            if !file_key.is_empty()
                && let Some((f, l)) = step.with.get(file_key)
            {
                good.push(at(*l, format!("version from {f}")));
                continue;
            }
            match value {
                None => loose.push(at(*line, "without a version: the runner's default is used".into())),
                Some((v, l)) => {
                    let all = versions(&v, job);
                    if all.iter().all(|x| EXACT_VERSION.is_match(x)) {
                        good.push(at(l, format!("{key} {}", all.join(", "))));
                    } else {
                        loose.push(at(l, format!("{key} '{}' is not an exact version", all.join(", "))));
                    }
                }
            }
        }
    }
    let item = if !loose.is_empty() {
        Item::new(ID, Section::BuildIntegrity, Status::Warn, format!("{} not pinned exactly", plural(loose.len(), "toolchain version")))
            .fix("pin exact versions (node-version: 20.11.1, python-version: 3.12.4, rust-toolchain.toml channel = \"1.78.0\")")
    } else if good.is_empty() {
        Item::new(
            ID,
            Section::BuildIntegrity,
            Status::Pass,
            "no toolchain setup step in the build jobs (the runner image's versions are used)",
        )
    } else {
        Item::new(ID, Section::BuildIntegrity, Status::Pass, "toolchain versions are pinned")
    };
    items.push(Item { evidence: loose.into_iter().chain(good).collect(), ..item });
}

/// A `${{ secrets.X }}` (GitHub) or `$X` (GitLab) reference in a step's env or inputs.
fn uses_secret(step: &Step) -> Option<(String, u64)> {
    step.env.values().chain(step.with.values()).find_map(|(v, l)| {
        let name = secret_names(v).into_iter().find(|n| n != "GITHUB_TOKEN" && !n.starts_with("CI_"))?;
        Some((name, *l))
    })
}

fn secret_names(text: &str) -> Vec<String> {
    SECRET_REF.captures_iter(text).filter_map(|c| c.get_group(1).map(|s| text[s.range()].to_string())).collect()
}

fn provenance(eco: Ecosystem, manifests: &Manifests, publish: &[Publish]) -> Item {
    let registry = match eco {
        Ecosystem::Npm => Registry::Npm,
        Ecosystem::Cargo => Registry::Crates,
        Ecosystem::Python => Registry::Pypi,
    };
    let id = format!("provenance.{}", eco.as_str());
    let mine: Vec<&Publish> = publish.iter().filter(|p| p.registry == registry).collect();
    if mine.is_empty() {
        return Item::new(
            id,
            Section::Provenance,
            Status::Warn,
            format!("{} releases are not published from CI: no provenance", registry.name()),
        )
        .fix(format!("publish from CI with {}", registry.trusted()));
    }
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for p in &mine {
        let id_token = p.job.id_token.or(p.wf.id_token);
        let token = uses_secret(p.step);
        let ev = |note: String| Evidence::new(p.wf.path.clone(), Some(p.line), format!("job '{}': {note}", p.job.id));
        match registry {
            Registry::Npm => {
                let run = p.step.run.as_ref().map_or("", |(r, _)| r.as_str());
                let pkg_flag = manifests
                    .npm
                    .as_ref()
                    .and_then(|(_, v)| v.get("publishConfig")?.get("provenance")?.as_bool())
                    .unwrap_or(false);
                let env_flag = p.wf.text.to_ascii_lowercase().contains("npm_config_provenance: true");
                let asked = run.contains("--provenance") || pkg_flag || env_flag;
                match (id_token, asked, &token) {
                    (Some(_), true, _) => good.push(ev("provenance with id-token: write".into())),
                    (Some(_), false, None) => {
                        good.push(ev("trusted publishing (OIDC, provenance is automatic)".into()));
                    }
                    (None, _, _) => {
                        bad.push(ev("no `permissions: id-token: write`: provenance cannot be signed".into()));
                    }
                    (Some(_), false, Some((name, _))) => {
                        bad.push(ev(format!(
                            "publishes with secret {name} and without --provenance or publishConfig.provenance"
                        )));
                    }
                }
            }
            Registry::Pypi => {
                let action = p
                    .step
                    .uses
                    .as_ref()
                    .is_some_and(|(u, _)| u.to_ascii_lowercase().starts_with("pypa/gh-action-pypi-publish"));
                let password = p.step.with.get("password");
                let run = p.step.run.as_ref().map_or("", |(r, _)| r.as_str());
                let uv = run.contains("uv publish") && token.is_none();
                match (action || uv, password, id_token) {
                    (true, None, Some(_)) => good.push(ev("trusted publishing (no password, id-token: write)".into())),
                    (true, Some((_, l)), _) => {
                        bad.push(Evidence::new(
                            p.wf.path.clone(),
                            Some(*l),
                            format!("job '{}': uploads with an API token (password input)", p.job.id),
                        ));
                    }
                    (true, None, None) => {
                        bad.push(ev("no `permissions: id-token: write`: trusted publishing cannot work".into()));
                    }
                    (false, ..) => bad.push(ev("uploads with a password or API token".into())),
                }
            }
            Registry::Crates => {
                let auth =
                    p.job.steps.iter().any(|s| {
                        s.uses.as_ref().is_some_and(|(u, _)| u.starts_with("rust-lang/crates-io-auth-action"))
                    });
                if auth && id_token.is_some() {
                    good.push(ev("trusted publishing (crates-io-auth-action)".into()));
                } else {
                    bad.push(ev("cargo publish with a long-lived token".into()));
                }
            }
            Registry::Gems => {}
        }
    }
    let item = if bad.is_empty() {
        Item::new(
            id,
            Section::Provenance,
            Status::Pass,
            format!("{} releases use provenance / trusted publishing", registry.name()),
        )
    } else {
        Item::new(
            id,
            Section::Provenance,
            Status::Warn,
            format!("{} releases lack provenance or trusted publishing", registry.name()),
        )
        .fix(format!("switch to {}", registry.trusted()))
    };
    Item { evidence: bad.into_iter().chain(good).collect(), ..item }
}

/// The registry a secret or variable name is a token for.
fn token_registry(name: &str) -> Option<Registry> {
    let n = name.to_ascii_uppercase();
    if n.starts_with("CI_") || n == "GITHUB_TOKEN" || n.contains("ID_TOKEN") {
        return None;
    }
    let tokenish = ["TOKEN", "PASSWORD", "API_KEY", "AUTH", "KEY"].iter().any(|t| n.contains(t));
    if n.contains("NPM") || n.contains("NODE_AUTH") {
        Some(Registry::Npm)
    } else if n.contains("PYPI") || n.contains("TWINE_PASSWORD") {
        Some(Registry::Pypi)
    } else if (n.contains("CARGO") || n.contains("CRATES")) && tokenish {
        Some(Registry::Crates)
    } else if n.contains("RUBYGEMS") || n.contains("GEM_HOST") {
        Some(Registry::Gems)
    } else {
        None
    }
    .filter(|_| tokenish)
}

fn tokens(ci: &[Workflow], items: &mut Vec<Item>) {
    const ID: &str = "provenance.long-lived-tokens";
    let mut found = Vec::new();
    let mut registries = BTreeSet::new();
    for wf in ci {
        for (i, line) in wf.text.lines().enumerate() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            let names = match wf.kind {
                CiKind::GitHub => secret_names(line),
                CiKind::GitLab => GITLAB_VAR
                    .captures_iter(line)
                    .filter_map(|c| c.get_group(1).map(|s| line[s.range()].to_string()))
                    .collect(),
            };
            for name in names {
                if let Some(r) = token_registry(&name) {
                    registries.insert(r);
                    found.push(Evidence::new(
                        wf.path.clone(),
                        Some(i as u64 + 1),
                        format!("{name}: a long-lived {} token", r.name()),
                    ));
                }
            }
        }
    }
    if found.is_empty() {
        items.push(Item::new(ID, Section::Provenance, Status::Pass, "no long-lived registry token in CI secrets"));
        return;
    }
    let fix: Vec<&str> = registries.iter().map(|r| r.trusted()).collect();
    items.push(Item {
        evidence: found,
        ..Item::new(ID, Section::Provenance, Status::Warn, "CI publishes with long-lived registry tokens")
            .fix(format!("replace them with {} and revoke the tokens", fix.join("; ")))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step_run(run: &str) -> Step {
        Step { line: 1, run: Some((run.into(), 10)), ..Step::default() }
    }

    #[test]
    fn publish_commands() {
        let cases: &[(&str, Option<(Registry, u64)>)] = &[
            ("npm publish --provenance", Some((Registry::Npm, 10))),
            ("npm ci\nnpm publish --access public", Some((Registry::Npm, 11))),
            ("npm publish --dry-run", None),
            ("yarn npm publish", Some((Registry::Npm, 10))),
            ("cargo publish --locked", Some((Registry::Crates, 10))),
            ("cargo +stable publish", Some((Registry::Crates, 10))),
            ("python -m twine upload dist/*", Some((Registry::Pypi, 10))),
            ("uv publish", Some((Registry::Pypi, 10))),
            ("gem push *.gem", Some((Registry::Gems, 10))),
            ("npm test", None),
            ("# npm publish", None),
        ];
        for (run, want) in cases {
            assert_eq!(publishes(&step_run(run)), *want, "{run}");
        }
        let action = Step { uses: Some(("pypa/gh-action-pypi-publish@release/v1".into(), 5)), ..Step::default() };
        assert_eq!(publishes(&action), Some((Registry::Pypi, 5)));
    }

    #[test]
    fn pins() {
        assert_eq!(action_pin("./local"), None);
        assert_eq!(action_pin("actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11"), Some(Ok(())));
        assert!(matches!(action_pin("actions/checkout@v4"), Some(Err(_))));
        assert!(matches!(action_pin("docker://alpine:3"), Some(Err(_))));
        assert_eq!(action_pin("docker://alpine@sha256:abc"), Some(Ok(())));
    }

    #[test]
    fn exact_versions() {
        for v in ["20.11.1", "v1.2.3", "1.78.0", "nightly-2024-05-01", "3.12.4"] {
            assert!(EXACT_VERSION.is_match(v), "{v}");
        }
        for v in ["20", "20.x", "lts/*", "3.12", "stable", "latest", ""] {
            assert!(!EXACT_VERSION.is_match(v), "{v}");
        }
    }

    #[test]
    fn token_names() {
        assert_eq!(token_registry("NPM_TOKEN"), Some(Registry::Npm));
        assert_eq!(token_registry("PYPI_API_TOKEN"), Some(Registry::Pypi));
        assert_eq!(token_registry("CARGO_REGISTRY_TOKEN"), Some(Registry::Crates));
        assert_eq!(token_registry("GITHUB_TOKEN"), None);
        assert_eq!(token_registry("CARGO_TERM_COLOR"), None);
        assert_eq!(token_registry("CI_JOB_TOKEN"), None);
        assert_eq!(secret_names("a: ${{ secrets.NPM_TOKEN }} ${{secrets.X}}"), ["NPM_TOKEN", "X"]);
    }
}
