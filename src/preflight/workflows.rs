//! CI configuration, read into a small owned model with line numbers: GitHub Actions workflows
//! (`.github/workflows/*.yml`) and `.gitlab-ci.yml` at the repository root. YAML is parsed with
//! `saphyr` (maintained, pure Rust, marked nodes); what is judged is in [`super::release`].

use std::collections::BTreeMap;
use std::path::Path;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::Repo;

/// Which CI system a file belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CiKind {
    /// GitHub Actions.
    GitHub,
    /// GitLab CI.
    GitLab,
}

/// A value and the 1-based line it is on.
pub type At = (String, u64);

/// One CI file.
#[derive(Clone, Debug)]
pub struct Workflow {
    /// Path for evidence (relative to the checked directory).
    pub path: String,
    /// GitHub or GitLab.
    pub kind: CiKind,
    /// The raw text (for line searches such as secret names).
    pub text: String,
    /// Jobs in file order.
    pub jobs: Vec<Job>,
    /// Line of a workflow-level `id-token: write` (or `write-all`).
    pub id_token: Option<u64>,
    /// Line of an `on: workflow_run` trigger (runs after another workflow).
    pub workflow_run: Option<u64>,
    /// GitLab `stages`, in order.
    pub stages: Vec<String>,
    /// Why the file could not be parsed.
    pub error: Option<String>,
}

/// One job.
#[derive(Clone, Debug, Default)]
pub struct Job {
    /// Its key.
    pub id: String,
    /// Line of the key.
    pub line: u64,
    /// `needs:` job ids.
    pub needs: Vec<String>,
    /// GitLab `stage`.
    pub stage: Option<String>,
    /// Line of a job-level `id-token: write` (GitLab: `id_tokens`).
    pub id_token: Option<u64>,
    /// A job-level `uses:` (reusable workflow).
    pub uses: Option<At>,
    /// Steps (GitLab: one per script line).
    pub steps: Vec<Step>,
    /// `strategy.matrix` axes: name → values.
    pub matrix: BTreeMap<String, Vec<String>>,
}

/// One step.
#[derive(Clone, Debug, Default)]
pub struct Step {
    /// Line where the step starts.
    pub line: u64,
    /// `uses:` action reference.
    pub uses: Option<At>,
    /// `run:` script.
    pub run: Option<At>,
    /// `with:` inputs.
    pub with: BTreeMap<String, At>,
    /// `env:` variables.
    pub env: BTreeMap<String, At>,
}

/// Reads every workflow at the repository root (sorted), then `.gitlab-ci.yml`.
pub fn load(repo: &Repo) -> Vec<Workflow> {
    let mut out = Vec::new();
    let dir = repo.root.join(".github/workflows");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml") && p.is_file())
        .collect();
    files.sort();
    for path in files {
        out.push(parse_file(repo, &path, CiKind::GitHub));
    }
    let gitlab = repo.root.join(".gitlab-ci.yml");
    if gitlab.is_file() {
        out.push(parse_file(repo, &gitlab, CiKind::GitLab));
    }
    out
}

fn parse_file(repo: &Repo, path: &Path, kind: CiKind) -> Workflow {
    let rel = repo.rel(path);
    match std::fs::read(path) {
        Ok(bytes) => parse(rel, kind, &String::from_utf8_lossy(&bytes)),
        Err(e) => Workflow { error: Some(crate::error::io_message(&e)), ..empty(rel, kind, String::new()) },
    }
}

fn empty(path: String, kind: CiKind, text: String) -> Workflow {
    Workflow { path, kind, text, jobs: Vec::new(), id_token: None, workflow_run: None, stages: Vec::new(), error: None }
}

/// Parses one CI file's text.
pub fn parse(path: String, kind: CiKind, text: &str) -> Workflow {
    let mut wf = empty(path, kind, text.to_string());
    let docs = match MarkedYaml::load_from_str(text) {
        Ok(d) => d,
        Err(e) => {
            wf.error = Some(e.to_string());
            return wf;
        }
    };
    let Some(doc) = docs.first() else { return wf };
    match kind {
        CiKind::GitHub => github(&mut wf, doc),
        CiKind::GitLab => gitlab(&mut wf, doc),
    }
    wf
}

fn line(n: &MarkedYaml) -> u64 {
    n.span.start.line() as u64
}

/// A scalar as text (numbers and booleans as written, roughly: `3.10` reads back as `3.1`).
pub(crate) fn scalar(n: &MarkedYaml) -> Option<String> {
    match &n.data {
        YamlData::Value(Scalar::String(s)) | YamlData::Representation(s, ..) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        YamlData::Value(Scalar::Null) => Some(String::new()),
        _ => None,
    }
}

/// Mapping entries as (key text, key line, value).
fn entries<'a, 'b>(n: &'b MarkedYaml<'a>) -> Vec<(String, u64, &'b MarkedYaml<'a>)> {
    match &n.data {
        YamlData::Mapping(m) => m.iter().filter_map(|(k, v)| Some((scalar(k)?, line(k), v))).collect(),
        _ => Vec::new(),
    }
}

fn get<'a, 'b>(n: &'b MarkedYaml<'a>, key: &str) -> Option<&'b MarkedYaml<'a>> {
    n.data.as_mapping_get(key)
}

/// A string or a list of strings.
fn strings(n: &MarkedYaml) -> Vec<String> {
    match &n.data {
        YamlData::Sequence(s) => s.iter().filter_map(scalar).collect(),
        _ => scalar(n).into_iter().collect(),
    }
}

/// Line of an `id-token: write` (or `write-all`) in a `permissions` value.
fn id_token(permissions: Option<&MarkedYaml>) -> Option<u64> {
    let p = permissions?;
    if scalar(p).as_deref() == Some("write-all") {
        return Some(line(p));
    }
    let v = get(p, "id-token")?;
    (scalar(v).as_deref() == Some("write")).then(|| line(v))
}

fn string_map(n: Option<&MarkedYaml>) -> BTreeMap<String, At> {
    n.map(entries)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, kl, v)| (k, (scalar(v).unwrap_or_default(), if v.span.start.line() > 0 { line(v) } else { kl })))
        .collect()
}

fn github(wf: &mut Workflow, doc: &MarkedYaml) {
    wf.id_token = id_token(get(doc, "permissions"));
    if let Some(on) = get(doc, "on") {
        wf.workflow_run = match &on.data {
            YamlData::Mapping(_) => entries(on).into_iter().find(|(k, ..)| k == "workflow_run").map(|(_, l, _)| l),
            _ => strings(on).iter().any(|s| s == "workflow_run").then(|| line(on)),
        };
    }
    let Some(jobs) = get(doc, "jobs") else { return };
    for (id, key_line, job) in entries(jobs) {
        let mut j = Job { id, line: key_line, ..Job::default() };
        j.needs = get(job, "needs").map(strings).unwrap_or_default();
        j.id_token = id_token(get(job, "permissions"));
        j.uses = get(job, "uses").and_then(|u| Some((scalar(u)?, line(u))));
        if let Some(matrix) = get(job, "strategy").and_then(|s| get(s, "matrix")) {
            for (axis, _, values) in entries(matrix) {
                j.matrix.insert(axis, strings(values));
            }
        }
        if let Some(YamlData::Sequence(steps)) = get(job, "steps").map(|s| &s.data) {
            for s in steps {
                j.steps.push(Step {
                    line: line(s),
                    uses: get(s, "uses").and_then(|u| Some((scalar(u)?, line(u)))),
                    run: get(s, "run").and_then(|r| Some((scalar(r)?, line(r)))),
                    with: string_map(get(s, "with")),
                    env: string_map(get(s, "env")),
                });
            }
        }
        wf.jobs.push(j);
    }
}

/// GitLab keys that are not jobs.
const GITLAB_RESERVED: &[&str] = &[
    "stages",
    "variables",
    "default",
    "include",
    "workflow",
    "image",
    "services",
    "before_script",
    "after_script",
    "cache",
    "pages:deploy",
];

fn gitlab(wf: &mut Workflow, doc: &MarkedYaml) {
    wf.stages = get(doc, "stages").map_or_else(|| ["build", "test", "deploy"].map(String::from).to_vec(), strings);
    for (id, key_line, job) in entries(doc) {
        if GITLAB_RESERVED.contains(&id.as_str()) || id.starts_with('.') || get(job, "script").is_none() {
            continue;
        }
        let mut j = Job { id, line: key_line, ..Job::default() };
        j.stage = Some(get(job, "stage").and_then(scalar).unwrap_or_else(|| "test".into()));
        j.needs = match get(job, "needs").map(|n| &n.data) {
            Some(YamlData::Sequence(list)) => {
                list.iter().filter_map(|n| scalar(n).or_else(|| get(n, "job").and_then(scalar))).collect()
            }
            _ => Vec::new(),
        };
        j.id_token = get(job, "id_tokens").map(line);
        let env = string_map(get(job, "variables"));
        for key in ["before_script", "script", "after_script"] {
            let Some(script) = get(job, key) else { continue };
            let lines: Vec<&MarkedYaml> = match &script.data {
                YamlData::Sequence(s) => s.iter().collect(),
                _ => vec![script],
            };
            for l in lines {
                if let Some(text) = scalar(l) {
                    j.steps.push(Step {
                        line: line(l),
                        run: Some((text, line(l))),
                        env: env.clone(),
                        ..Step::default()
                    });
                }
            }
        }
        wf.jobs.push(j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GH: &str = "name: release
on:
  push: {tags: ['v*']}
  workflow_run: {workflows: [ci]}
permissions: {contents: read, id-token: write}
jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        node: [18, 20.11.1]
    steps:
      - uses: actions/checkout@v4
      - run: |
          npm ci
          npm test
  publish:
    needs: test
    permissions:
      id-token: write
    steps:
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - run: npm publish
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
";

    #[test]
    fn github_model() {
        let wf = parse("ci.yml".into(), CiKind::GitHub, GH);
        assert!(wf.error.is_none());
        assert_eq!(wf.id_token, Some(5));
        assert_eq!(wf.workflow_run, Some(4));
        assert_eq!(wf.jobs.len(), 2);
        let test = &wf.jobs[0];
        assert_eq!((test.id.as_str(), test.line), ("test", 7));
        assert_eq!(test.matrix["node"], ["18", "20.11.1"]);
        assert_eq!(test.steps[0].uses, Some(("actions/checkout@v4".into(), 13)));
        assert_eq!(test.steps[1].run.as_ref().unwrap().0, "npm ci\nnpm test\n");
        let publish = &wf.jobs[1];
        assert_eq!(publish.needs, ["test"]);
        assert_eq!(publish.id_token, Some(20));
        assert_eq!(publish.steps[0].with["node-version"], ("20".into(), 24));
        assert_eq!(publish.steps[1].env["NODE_AUTH_TOKEN"].1, 27);
    }

    #[test]
    fn gitlab_model() {
        let text = "stages: [test, deploy]\nvariables: {A: b}\n.tpl: {script: [x]}\nunit:\n  stage: test\n  script:\n    - pytest\npublish:\n  stage: deploy\n  needs: [unit]\n  id_tokens: {PYPI_ID_TOKEN: {aud: pypi}}\n  script:\n    - twine upload dist/*\n";
        let wf = parse(".gitlab-ci.yml".into(), CiKind::GitLab, text);
        assert_eq!(wf.stages, ["test", "deploy"]);
        let ids: Vec<&str> = wf.jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids, ["unit", "publish"]);
        assert_eq!(wf.jobs[1].needs, ["unit"]);
        assert_eq!(wf.jobs[1].id_token, Some(11));
        assert_eq!(wf.jobs[1].steps[0].run, Some(("twine upload dist/*".into(), 13)));
    }

    #[test]
    fn broken_yaml_is_an_error() {
        let wf = parse("x.yml".into(), CiKind::GitHub, "jobs: [\n");
        assert!(wf.error.is_some());
    }
}
