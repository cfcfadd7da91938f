//! Dependency hygiene per ecosystem: a lockfile that is present and committed, the number of
//! direct dependencies, loose version ranges and git dependencies without a commit (listed with
//! their manifest line), and the vulnerability audit of [`super::audit`].

use std::path::{Path, PathBuf};

use super::tool;
use super::{
    Ecosystem, Evidence, Item, Manifests, Options, Repo, Section, Status, json_key_line, line_of, plural, toml_key_line,
};

/// One direct dependency as declared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dep {
    /// Package name.
    pub name: String,
    /// The requirement as written (a version range, URL, or a table summary).
    pub spec: String,
    /// Runtime (false: dev, optional or build-only).
    pub runtime: bool,
    /// Manifest line.
    pub line: Option<u64>,
    /// Why the requirement is loose, if it is.
    pub loose: Option<&'static str>,
}

/// Adds the `dependencies.*` items for each ecosystem.
pub fn check(repo: &Repo, manifests: &Manifests, ecosystems: &[Ecosystem], opts: &Options, items: &mut Vec<Item>) {
    for &eco in ecosystems {
        let (manifest, deps) = match eco {
            Ecosystem::Npm => ("package.json", npm_deps(manifests)),
            Ecosystem::Cargo => ("Cargo.toml", cargo_deps(manifests)),
            Ecosystem::Python => python_deps(repo, manifests),
        };
        items.push(lockfile(repo, eco, &deps));
        let runtime = deps.iter().filter(|d| d.runtime).count();
        let mut direct = Item::new(
            format!("dependencies.direct.{}", eco.as_str()),
            Section::Dependencies,
            Status::Pass,
            format!("direct dependencies: {runtime} runtime, {} dev/optional/build ({manifest})", deps.len() - runtime),
        );
        if manifest == "setup.py" {
            direct.title = "dependencies are declared in setup.py (not read: it is code)".into();
            direct.status = Status::Manual;
            direct.fix = Some("review install_requires in setup.py, or move the metadata to pyproject.toml".into());
        }
        items.push(direct);
        let loose: Vec<&Dep> = deps.iter().filter(|d| d.loose.is_some()).collect();
        let id = format!("dependencies.ranges.{}", eco.as_str());
        items.push(if loose.is_empty() {
            Item::new(id, Section::Dependencies, Status::Pass, "no loose version ranges or unpinned git dependencies")
        } else {
            let mut item = Item::new(
                id,
                Section::Dependencies,
                Status::Warn,
                format!("{} with loose ranges or unpinned git sources", plural(loose.len(), "dependency")),
            )
            .fix(match eco {
                Ecosystem::Cargo => {
                    "bound open ranges, give git dependencies a rev = \"<commit>\", and commit Cargo.lock"
                }
                _ => "pin exact versions (or rely on a committed lockfile) and pin git dependencies to a full commit",
            });
            for d in loose {
                item = item.with(Evidence::new(
                    manifest,
                    d.line,
                    format!("{} \"{}\": {}", d.name, d.spec, d.loose.unwrap_or_default()),
                ));
            }
            item
        });
        items.push(super::audit::check(repo, eco, opts));
    }
}

/// Lockfile names per ecosystem.
fn lockfile_names(eco: Ecosystem) -> &'static [&'static str] {
    match eco {
        Ecosystem::Npm => {
            &["package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock", "bun.lockb"]
        }
        Ecosystem::Cargo => &["Cargo.lock"],
        Ecosystem::Python => &["uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "pylock.toml"],
    }
}

/// The first lockfile in `dir` or a parent up to the repository root (workspaces keep one there).
pub(super) fn find_lockfile(repo: &Repo, eco: Ecosystem) -> Option<PathBuf> {
    let mut dir: &Path = &repo.dir;
    loop {
        if let Some(p) = lockfile_names(eco).iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
            return Some(p);
        }
        if dir == repo.root {
            return None;
        }
        dir = dir.parent()?;
    }
}

fn lockfile(repo: &Repo, eco: Ecosystem, deps: &[Dep]) -> Item {
    let id = format!("dependencies.lockfile.{}", eco.as_str());
    let Some(path) = find_lockfile(repo, eco) else {
        if deps.is_empty() {
            return Item::new(id, Section::Dependencies, Status::Pass, "no dependencies, so no lockfile needed");
        }
        let names = lockfile_names(eco);
        return Item::new(
            id,
            Section::Dependencies,
            Status::Warn,
            "no lockfile: builds resolve whatever versions are newest",
        )
        .with(Evidence::new(names[0], None, format!("none of {}", names.join(", "))))
        .fix(match eco {
            Ecosystem::Npm => "run npm install and commit package-lock.json",
            Ecosystem::Cargo => "run cargo generate-lockfile and commit Cargo.lock",
            Ecosystem::Python => "lock the dependencies (uv lock, poetry lock or pdm lock) and commit the lockfile",
        });
    };
    let rel = repo.rel(&path);
    let committed = match path.strip_prefix(&repo.root).ok().zip(repo.tracked.as_ref()) {
        Some((in_root, _)) => {
            let full = super::slash(in_root);
            tool::git(&repo.root, &["ls-files", "--error-unmatch", "--", &full]).map(|_| true).or(Some(false))
        }
        None => None,
    };
    match committed {
        Some(true) => Item::new(id, Section::Dependencies, Status::Pass, format!("{rel} is present and committed"))
            .with(Evidence::new(rel, None, "tracked by git")),
        Some(false) => Item::new(id, Section::Dependencies, Status::Warn, format!("{rel} is not committed"))
            .with(Evidence::new(rel.clone(), None, "present but not tracked by git"))
            .fix(format!("git add {rel} && git commit: CI and other maintainers then build the same versions")),
        None => Item::new(
            id,
            Section::Dependencies,
            Status::Pass,
            format!("{rel} is present (not a git repository: commit state unknown)"),
        )
        .with(Evidence::new(rel, None, "present")),
    }
}

/// Why an npm requirement is loose.
fn npm_loose(spec: &str) -> Option<&'static str> {
    let s = spec.trim();
    let s = match s.strip_prefix("npm:") {
        Some(alias) => alias.rsplit_once('@').map_or("", |(_, v)| v),
        None => s,
    };
    if ["file:", "link:", "workspace:", "portal:"].iter().any(|p| s.starts_with(p)) {
        return None;
    }
    let gitish = ["git+", "git://", "github:", "gitlab:", "bitbucket:", "gist:"].iter().any(|p| s.starts_with(p))
        || (s.starts_with("http") && s.split('#').next().is_some_and(|u| u.to_ascii_lowercase().ends_with(".git")))
        || (!s.contains(':')
            && !s.starts_with('@')
            && s.split('#').next().is_some_and(|u| u.matches('/').count() == 1)
            && s.chars().next().is_some_and(char::is_alphanumeric));
    if gitish {
        let commit = s.rsplit_once('#').map(|(_, c)| c);
        return match commit {
            Some(c) if c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit()) => None,
            _ => Some("git source without a full commit"),
        };
    }
    if s.starts_with("http://") || s.starts_with("https://") {
        return Some("remote tarball URL (its content can change)");
    }
    match s {
        "" | "*" | "x" | "latest" | "next" => return Some("any version"),
        _ => {}
    }
    if s.starts_with('^') {
        Some("caret range (^)")
    } else if s.starts_with('~') {
        Some("tilde range (~)")
    } else if s.starts_with('>') || s.starts_with('<') || s.contains("||") || s.contains(" - ") {
        Some("open range")
    } else if s.contains('*') || s.split('.').any(|p| p == "x" || p == "X") {
        Some("wildcard")
    } else {
        None
    }
}

fn npm_deps(manifests: &Manifests) -> Vec<Dep> {
    let Some((text, pkg)) = &manifests.npm else { return Vec::new() };
    let mut out = Vec::new();
    for (section, runtime, ranges_ok) in [
        ("dependencies", true, false),
        ("optionalDependencies", true, false),
        ("peerDependencies", true, true),
        ("devDependencies", false, false),
    ] {
        let Some(map) = pkg.get(section).and_then(serde_json::Value::as_object) else { continue };
        let start = json_key_line(text, section, 1).unwrap_or(1);
        for (name, spec) in map {
            let spec = spec.as_str().unwrap_or_default().to_string();
            let loose = if ranges_ok { None } else { npm_loose(&spec) };
            out.push(Dep { line: json_key_line(text, name, start), name: name.clone(), spec, runtime, loose });
        }
    }
    out
}

/// Why a Cargo dependency is loose. Bare requirements (`"1.2"`) are caret ranges by Cargo's
/// definition and the lockfile pins them, so only unbounded ranges and git sources without a
/// `rev` are listed.
fn cargo_loose(value: &toml::Value) -> (String, Option<&'static str>) {
    let (req, table) = match value {
        toml::Value::String(s) => (s.clone(), None),
        toml::Value::Table(t) => {
            (t.get("version").and_then(toml::Value::as_str).unwrap_or_default().to_string(), Some(t))
        }
        _ => (String::new(), None),
    };
    if let Some(t) = table {
        if t.get("workspace").and_then(toml::Value::as_bool) == Some(true) {
            return ("workspace".into(), None);
        }
        if let Some(git) = t.get("git").and_then(toml::Value::as_str) {
            let pinned = t.get("rev").and_then(toml::Value::as_str).is_some_and(|r| r.len() >= 7);
            return (git.to_string(), (!pinned).then_some("git dependency without rev = \"<commit>\""));
        }
        if t.contains_key("path") && req.is_empty() {
            return ("path".into(), None);
        }
    }
    let r = req.trim();
    let loose = if r.is_empty() || r == "*" {
        Some("any version")
    } else if r.contains('*') {
        Some("wildcard")
    } else if r.starts_with('>') && !r.contains('<') {
        Some("open range (no upper bound)")
    } else {
        None
    };
    (req, loose)
}

fn cargo_deps(manifests: &Manifests) -> Vec<Dep> {
    let Some((text, table)) = &manifests.cargo else { return Vec::new() };
    let mut sections: Vec<(String, &toml::Table, bool)> = Vec::new();
    for (key, runtime) in [("dependencies", true), ("build-dependencies", false), ("dev-dependencies", false)] {
        if let Some(t) = table.get(key).and_then(toml::Value::as_table) {
            sections.push((key.to_string(), t, runtime));
        }
    }
    if let Some(targets) = table.get("target").and_then(toml::Value::as_table) {
        for (cfg, t) in targets {
            for (key, runtime) in [("dependencies", true), ("build-dependencies", false), ("dev-dependencies", false)] {
                if let Some(d) = t.get(key).and_then(toml::Value::as_table) {
                    sections.push((format!("target.{cfg}.{key}"), d, runtime));
                }
            }
        }
    }
    let mut out = Vec::new();
    for (header, deps, runtime) in sections {
        for (name, value) in deps {
            let (spec, loose) = cargo_loose(value);
            let line =
                toml_key_line(text, Some(&header), name).or_else(|| line_of(text, &format!("[{header}.{name}]"), 1));
            out.push(Dep { name: name.clone(), spec, runtime, line, loose });
        }
    }
    out
}

/// Why a PEP 508 requirement is loose.
fn pep508_loose(req: &str) -> Option<&'static str> {
    let req = req.split(';').next().unwrap_or_default().trim();
    if let Some((_, url)) = req.split_once(" @ ").or_else(|| req.split_once('@')) {
        let url = url.trim();
        if url.starts_with("git+") {
            let commit = url.rsplit_once('@').map(|(_, c)| c.split('#').next().unwrap_or_default());
            return match commit {
                Some(c) if c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit()) => None,
                _ => Some("git source without a full commit"),
            };
        }
        return (!url.starts_with("file:")).then_some("direct URL (its content can change)");
    }
    let spec = req.trim_start_matches(|c: char| c.is_alphanumeric() || "-_.".contains(c)).trim_start();
    let spec = match spec.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or("", |(_, s)| s).trim(),
        None => spec,
    };
    let spec = spec.trim_start_matches('(').trim_end_matches(')').trim();
    if spec.is_empty() {
        Some("no version constraint")
    } else if spec.starts_with("===") || (spec.starts_with("==") && !spec.contains('*') && !spec.contains(',')) {
        None
    } else {
        Some("range")
    }
}

/// Why a Poetry requirement is loose (`"1.2.3"` is exact in Poetry).
fn poetry_loose(value: &toml::Value) -> (String, Option<&'static str>) {
    let (req, table) = match value {
        toml::Value::String(s) => (s.clone(), None),
        toml::Value::Table(t) => {
            (t.get("version").and_then(toml::Value::as_str).unwrap_or_default().to_string(), Some(t))
        }
        _ => (String::new(), None),
    };
    if let Some(git) = table.and_then(|t| t.get("git")).and_then(toml::Value::as_str) {
        let pinned = table.and_then(|t| t.get("rev")).and_then(toml::Value::as_str).is_some_and(|r| r.len() == 40);
        return (git.to_string(), (!pinned).then_some("git source without a full commit"));
    }
    if table.is_some_and(|t| t.contains_key("path")) {
        return ("path".into(), None);
    }
    let r = req.trim();
    let loose = if r.is_empty() || r == "*" {
        Some("any version")
    } else if r.starts_with('^')
        || r.starts_with('~')
        || r.starts_with('>')
        || r.starts_with('<')
        || r.contains('*')
        || r.contains(',')
    {
        Some("range")
    } else {
        None
    };
    (req, loose)
}

/// The Python requirements: `pyproject.toml` (PEP 621 or Poetry), else `setup.cfg`'s
/// `install_requires` / `extras_require`, else `setup.py` (code: not read). Returns the manifest.
fn python_deps(repo: &Repo, manifests: &Manifests) -> (&'static str, Vec<Dep>) {
    let deps = pyproject_deps(manifests);
    if !deps.is_empty() {
        return ("pyproject.toml", deps);
    }
    if let Some(text) = super::read_text(&repo.dir.join("setup.cfg")) {
        let deps = setup_cfg_deps(&text);
        if !deps.is_empty() {
            return ("setup.cfg", deps);
        }
    }
    let declares = |t: &toml::Table| {
        t.get("project").and_then(toml::Value::as_table).is_some_and(|p| {
            p.contains_key("dependencies")
                || p.get("dynamic")
                    .and_then(toml::Value::as_array)
                    .is_none_or(|d| !d.iter().any(|v| v.as_str() == Some("dependencies")))
        })
    };
    match &manifests.pyproject {
        // A [project] table that declares its (possibly empty) dependencies statically.
        Some((_, t)) if declares(t) => ("pyproject.toml", deps),
        _ if manifests.setup_py => ("setup.py", deps),
        _ => ("pyproject.toml", deps),
    }
}

/// `install_requires` (runtime) and `extras_require` (optional) of a `setup.cfg`: dangling
/// lists, one requirement per indented line, or a one-line value.
fn setup_cfg_deps(text: &str) -> Vec<Dep> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut runtime: Option<bool> = None;
    let name_of = |req: &str| {
        req.split(|c: char| !(c.is_alphanumeric() || "-_.".contains(c))).next().unwrap_or_default().to_string()
    };
    let mut push = |req: &str, runtime: bool, line: usize| {
        let req = req.trim();
        if !req.is_empty() && !req.starts_with('#') {
            out.push(Dep {
                name: name_of(req),
                spec: req.to_string(),
                runtime,
                line: Some(line as u64 + 1),
                loose: pep508_loose(req),
            });
        }
    };
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            section = t.trim_matches(['[', ']']).trim().to_ascii_lowercase();
            runtime = None;
        } else if line.starts_with([' ', '\t']) {
            if let Some(rt) = runtime {
                push(t, rt, i);
            }
        } else if let Some((key, value)) = t.split_once('=') {
            runtime = match (section.as_str(), key.trim()) {
                ("options", "install_requires") => Some(true),
                ("options.extras_require", _) => Some(false),
                _ => None,
            };
            if let Some(rt) = runtime {
                push(value, rt, i);
            }
        } else {
            runtime = None;
        }
    }
    out
}

fn pyproject_deps(manifests: &Manifests) -> Vec<Dep> {
    let Some((text, table)) = &manifests.pyproject else { return Vec::new() };
    let mut out = Vec::new();
    let name_of = |req: &str| {
        req.split(|c: char| !(c.is_alphanumeric() || "-_.".contains(c))).next().unwrap_or_default().to_string()
    };
    let project = table.get("project").and_then(toml::Value::as_table);
    let line = |req: &str| line_of(text, &format!("\"{req}\""), 1).or_else(|| line_of(text, &format!("'{req}'"), 1));
    if let Some(list) = project.and_then(|p| p.get("dependencies")).and_then(toml::Value::as_array) {
        for req in list.iter().filter_map(toml::Value::as_str) {
            out.push(Dep {
                name: name_of(req),
                spec: req.to_string(),
                runtime: true,
                line: line(req),
                loose: pep508_loose(req),
            });
        }
    }
    if let Some(groups) = project.and_then(|p| p.get("optional-dependencies")).and_then(toml::Value::as_table) {
        for req in groups.values().filter_map(toml::Value::as_array).flatten().filter_map(toml::Value::as_str) {
            out.push(Dep {
                name: name_of(req),
                spec: req.to_string(),
                runtime: false,
                line: line(req),
                loose: pep508_loose(req),
            });
        }
    }
    let poetry = table.get("tool").and_then(|t| t.get("poetry")).and_then(toml::Value::as_table);
    for (key, runtime) in [("dependencies", true), ("dev-dependencies", false)] {
        let Some(deps) = poetry.and_then(|p| p.get(key)).and_then(toml::Value::as_table) else { continue };
        for (name, value) in deps.iter().filter(|(n, _)| *n != "python") {
            let (spec, loose) = poetry_loose(value);
            let line = toml_key_line(text, Some(&format!("tool.poetry.{key}")), name);
            out.push(Dep { name: name.clone(), spec, runtime, line, loose });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_ranges() {
        let cases: &[(&str, bool)] = &[
            ("1.3.0", false),
            ("^1.3.0", true),
            ("~1.3.0", true),
            (">=1", true),
            ("*", true),
            ("latest", true),
            ("1.x", true),
            ("1 || 2", true),
            ("file:../x", false),
            ("workspace:*", false),
            ("github:user/repo", true),
            ("user/repo#b4ffde65f46336ab88eb53be808477a3936bae11", false),
            ("git+https://example.com/a.git#main", true),
            ("https://example.com/a.tgz", true),
            ("npm:left-pad@1.3.0", false),
            ("npm:left-pad@^1.3.0", true),
        ];
        for &(spec, loose) in cases {
            assert_eq!(npm_loose(spec).is_some(), loose, "{spec}");
        }
    }

    #[test]
    fn cargo_ranges() {
        let v = |s: &str| toml::from_str::<toml::Table>(&format!("d = {s}")).unwrap()["d"].clone();
        let cases: &[(&str, bool)] = &[
            ("\"1.0\"", false),
            ("\"*\"", true),
            ("\">=1.2\"", true),
            ("\">=1.2, <2\"", false),
            ("{ version = \"1\", features = [\"x\"] }", false),
            ("{ git = \"https://example.com/x\" }", true),
            ("{ git = \"https://example.com/x\", branch = \"main\" }", true),
            ("{ git = \"https://example.com/x\", rev = \"b4ffde65\" }", false),
            ("{ path = \"../x\" }", false),
            ("{ workspace = true }", false),
        ];
        for &(spec, loose) in cases {
            assert_eq!(cargo_loose(&v(spec)).1.is_some(), loose, "{spec}");
        }
    }

    #[test]
    fn setup_cfg() {
        let text = "[metadata]\nname = x\n[options]\ninstall_requires =\n\tfrozenlist >= 1.1.0\n    # note\n    attrs==23.1.0\npackages = find:\n[options.extras_require]\ndev = pytest\n";
        let deps = setup_cfg_deps(text);
        let got: Vec<(&str, bool, Option<u64>, bool)> =
            deps.iter().map(|d| (d.name.as_str(), d.runtime, d.line, d.loose.is_some())).collect();
        assert_eq!(
            got,
            [("frozenlist", true, Some(5), true), ("attrs", true, Some(7), false), ("pytest", false, Some(10), true)]
        );
    }

    #[test]
    fn pep508_ranges() {
        let cases: &[(&str, bool)] = &[
            ("requests==2.31.0", false),
            ("requests", true),
            ("requests>=2", true),
            ("requests[socks]==2.31.0", false),
            ("requests ~= 2.31", true),
            ("foo==1.*", true),
            ("foo==1.0; python_version < '3.9'", false),
            ("foo @ git+https://example.com/foo.git@b4ffde65f46336ab88eb53be808477a3936bae11", false),
            ("foo @ git+https://example.com/foo.git@main", true),
        ];
        for &(spec, loose) in cases {
            assert_eq!(pep508_loose(spec).is_some(), loose, "{spec}");
        }
    }
}
