//! Package manifests read from a [`Package`]: name and version, dependencies with their
//! ranges, install-time hooks and `bin` entries, for npm (`package.json`), crates
//! (`Cargo.toml`), Python (`METADATA`/`PKG-INFO`, `pyproject.toml`, `entry_points.txt`) and
//! gems (`metadata.gz`). Only what the diff compares; a manifest that does not parse is named.

use std::collections::BTreeMap;

use serde_json::Value;

use super::package::Package;

/// npm lifecycle scripts that run when a consumer installs the package.
pub const NPM_INSTALL_SCRIPTS: &[&str] = &["preinstall", "install", "postinstall", "prepare"];

/// What the diff compares, from every manifest found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Manifest {
    /// `npm`, `crates`, `pypi` or `gems`, when a manifest was recognised.
    pub ecosystem: Option<&'static str>,
    /// Package name.
    pub name: Option<String>,
    /// Package version.
    pub version: Option<String>,
    /// Dependency (prefixed by its kind when not a plain runtime one: `build:`, `optional:`,
    /// `peer:`, `dev:`) → range or source.
    pub deps: BTreeMap<String, String>,
    /// Install-time hooks: npm scripts, the build backend, `package.build`, gem extensions.
    pub hooks: BTreeMap<String, String>,
    /// Commands the package installs (`bin`, console scripts, gem executables).
    pub bins: BTreeMap<String, String>,
    /// Manifests that did not parse, with the reason.
    pub broken: Vec<String>,
}

impl Manifest {
    /// `name version` (`?` for a missing version), when the name is known.
    pub fn id(&self) -> Option<String> {
        self.name.as_ref().map(|n| format!("{n} {}", self.version.as_deref().unwrap_or("?")))
    }

    /// Reads every manifest `pkg` carries.
    pub fn of(pkg: &Package) -> Manifest {
        let mut m = Manifest::default();
        let text = |k: &str| pkg.get(k).and_then(|f| f.text()).map(str::to_string);
        if let Some(t) = text("package.json") {
            m.npm(&t);
        }
        if let Some(t) = text("Cargo.toml") {
            m.cargo(&t);
        }
        let metadata = pkg.files.keys().find(|k| k.ends_with(".dist-info/METADATA")).cloned();
        if let Some(t) = metadata.as_deref().and_then(text).or_else(|| text("PKG-INFO")) {
            m.python_metadata(&t);
        }
        if let Some(t) = text("pyproject.toml") {
            m.pyproject(&t);
        }
        if let Some(k) = pkg.files.keys().find(|k| k.ends_with(".dist-info/entry_points.txt")).cloned()
            && let Some(t) = text(&k)
        {
            m.entry_points(&t);
        }
        if let Some(t) = text("metadata.gz") {
            m.gem(&t);
        }
        m
    }

    fn npm(&mut self, text: &str) {
        let v: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => return self.broken.push(format!("package.json: {e}")),
        };
        self.ecosystem = Some("npm");
        self.name = v["name"].as_str().map(str::to_string);
        self.version = v["version"].as_str().map(str::to_string);
        for (field, prefix) in [
            ("dependencies", ""),
            ("optionalDependencies", "optional:"),
            ("peerDependencies", "peer:"),
            ("devDependencies", "dev:"),
        ] {
            if let Some(deps) = v[field].as_object() {
                for (name, spec) in deps {
                    let spec = spec.as_str().map_or_else(|| spec.to_string(), str::to_string);
                    self.deps.insert(format!("{prefix}{name}"), spec);
                }
            }
        }
        if let Some(scripts) = v["scripts"].as_object() {
            for s in NPM_INSTALL_SCRIPTS {
                if let Some(cmd) = scripts.get(*s) {
                    self.hooks.insert(format!("scripts.{s}"), cmd.as_str().unwrap_or_default().to_string());
                }
            }
        }
        match &v["bin"] {
            Value::String(s) => {
                let name = self.name.clone().unwrap_or_default();
                let name = name.rsplit('/').next().unwrap_or_default().to_string();
                self.bins.insert(name, s.clone());
            }
            Value::Object(o) => {
                for (k, s) in o {
                    self.bins.insert(k.clone(), s.as_str().unwrap_or_default().to_string());
                }
            }
            _ => {}
        }
    }

    fn cargo(&mut self, text: &str) {
        let v: toml::Table = match text.parse() {
            Ok(v) => v,
            Err(e) => return self.broken.push(format!("Cargo.toml: {}", e.to_string().lines().next().unwrap_or(""))),
        };
        self.ecosystem = Some("crates");
        let package = v.get("package").and_then(|p| p.as_table());
        self.name = package.and_then(|p| p.get("name")).and_then(|n| n.as_str()).map(str::to_string);
        self.version = package.and_then(|p| p.get("version")).and_then(|n| n.as_str()).map(str::to_string);
        // `build = false` (written by newer cargo) is no hook, and `build.rs` itself is judged
        // as a file; only a build script elsewhere is a hook here.
        if let Some(build) = package.and_then(|p| p.get("build")).and_then(|b| b.as_str())
            && build != "build.rs"
        {
            self.hooks.insert("package.build".into(), build.to_string());
        }
        let mut tables: Vec<(String, &toml::Table)> = Vec::new();
        for (key, prefix) in [("dependencies", ""), ("build-dependencies", "build:")] {
            if let Some(t) = v.get(key).and_then(|t| t.as_table()) {
                tables.push((prefix.to_string(), t));
            }
        }
        // Platform-specific dependencies count under their name alone: a crate that moves
        // between `cfg(...)` tables is no new dependency.
        if let Some(targets) = v.get("target").and_then(|t| t.as_table()) {
            for t in targets.values() {
                for (key, prefix) in [("dependencies", ""), ("build-dependencies", "build:")] {
                    if let Some(t) = t.get(key).and_then(|t| t.as_table()) {
                        tables.push((prefix.to_string(), t));
                    }
                }
            }
        }
        for (prefix, table) in tables {
            for (name, spec) in table {
                if self.deps.contains_key(&format!("{prefix}{name}")) {
                    continue;
                }
                let spec = match spec {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Table(t) => cargo_source(t),
                    other => other.to_string(),
                };
                self.deps.insert(format!("{prefix}{name}"), spec);
            }
        }
        if let Some(bins) = v.get("bin").and_then(|b| b.as_array()) {
            for b in bins {
                if let Some(name) = b.get("name").and_then(|n| n.as_str()) {
                    let path = b.get("path").and_then(|p| p.as_str()).unwrap_or_default();
                    self.bins.insert(name.to_string(), path.to_string());
                }
            }
        }
    }

    fn python_metadata(&mut self, text: &str) {
        self.ecosystem = Some("pypi");
        for line in text.lines() {
            if line.is_empty() {
                break; // the description body follows the headers
            }
            let Some((key, value)) = line.split_once(':') else { continue };
            let value = value.trim();
            match key {
                "Name" => self.name = Some(value.to_string()),
                "Version" => self.version = Some(value.to_string()),
                "Requires-Dist" => self.requirement(value, false),
                _ => {}
            }
        }
    }

    /// One PEP 508 requirement (`name[extra] (>=1) ; marker`); `optional` ones (an extra's) and
    /// those under an `extra` marker are keyed `extra:name`.
    fn requirement(&mut self, value: &str, optional: bool) {
        let (req, marker) = value.split_once(';').unwrap_or((value, ""));
        let req = req.trim();
        let end = req.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))).unwrap_or(req.len());
        let name = req[..end].to_ascii_lowercase().replace('_', "-");
        let spec = req[end..].trim().trim_start_matches('(').trim_end_matches(')').trim();
        let key = if optional || marker.contains("extra") { format!("extra:{name}") } else { name };
        self.deps.insert(key, spec.to_string());
    }

    fn pyproject(&mut self, text: &str) {
        let v: toml::Table = match text.parse() {
            Ok(v) => v,
            Err(e) => {
                return self.broken.push(format!("pyproject.toml: {}", e.to_string().lines().next().unwrap_or("")));
            }
        };
        self.ecosystem.get_or_insert("pypi");
        if let Some(bs) = v.get("build-system").and_then(|b| b.as_table()) {
            if let Some(b) = bs.get("build-backend").and_then(|b| b.as_str()) {
                self.hooks.insert("build-system.build-backend".into(), b.to_string());
            }
            if let Some(r) = bs.get("requires") {
                self.hooks.insert("build-system.requires".into(), r.to_string());
            }
            if let Some(p) = bs.get("backend-path") {
                self.hooks.insert("build-system.backend-path".into(), p.to_string());
            }
        }
        // The static `[project]` requirements, when no generated metadata (PKG-INFO, METADATA)
        // listed them: a source tree, such as the publish set `sluice preflight` builds.
        let project = v.get("project").and_then(|p| p.as_table());
        if self.deps.is_empty() {
            let reqs = project.and_then(|p| p.get("dependencies")).and_then(|d| d.as_array());
            for r in reqs.into_iter().flatten().filter_map(|r| r.as_str()) {
                self.requirement(r, false);
            }
            let extras = project.and_then(|p| p.get("optional-dependencies")).and_then(|d| d.as_table());
            for r in extras.into_iter().flat_map(|t| t.values()).filter_map(|l| l.as_array()).flatten() {
                if let Some(r) = r.as_str() {
                    self.requirement(r, true);
                }
            }
        }
        if self.name.is_none() {
            self.name = project.and_then(|p| p.get("name")).and_then(|n| n.as_str()).map(str::to_string);
            self.version = project.and_then(|p| p.get("version")).and_then(|n| n.as_str()).map(str::to_string);
        }
        if let Some(scripts) = project.and_then(|p| p.get("scripts")).and_then(|s| s.as_table()) {
            for (k, s) in scripts {
                self.bins.insert(k.clone(), s.as_str().unwrap_or_default().to_string());
            }
        }
    }

    fn entry_points(&mut self, text: &str) {
        let mut section = "";
        for line in text.lines().map(str::trim) {
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = s;
            } else if matches!(section, "console_scripts" | "gui_scripts")
                && let Some((k, v)) = line.split_once('=')
            {
                self.bins.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
    }

    /// The gem's `metadata.gz` YAML, read by line (its Ruby object tags are not plain YAML).
    fn gem(&mut self, text: &str) {
        self.ecosystem = Some("gems");
        let mut section = String::new();
        let (mut dep, mut dep_spec, mut dep_dev) = (None::<String>, Vec::<String>::new(), false);
        let flush = |m: &mut Manifest, dep: &mut Option<String>, spec: &mut Vec<String>, dev: bool| {
            if let Some(name) = dep.take() {
                let key = if dev { format!("dev:{name}") } else { name };
                m.deps.insert(key, spec.join(" "));
            }
            spec.clear();
        };
        let unquote = |s: &str| s.trim().trim_matches(|c| c == '\'' || c == '"').to_string();
        let mut pending_op = String::new();
        for line in text.lines() {
            if !line.starts_with(' ') && !line.starts_with('-') {
                if section == "dependencies" {
                    flush(self, &mut dep, &mut dep_spec, dep_dev);
                }
                section = line.split(':').next().unwrap_or_default().to_string();
                if section == "name" {
                    self.name = line.split_once(':').map(|(_, v)| unquote(v));
                }
                continue;
            }
            let t = line.trim();
            match section.as_str() {
                "version" if t.starts_with("version:") => self.version = t.split_once(':').map(|(_, v)| unquote(v)),
                "executables" => {
                    if let Some(e) = t.strip_prefix("- ") {
                        self.bins.insert(unquote(e), String::new());
                    }
                }
                "extensions" => {
                    if let Some(e) = t.strip_prefix("- ") {
                        self.hooks.insert(format!("extensions:{}", unquote(e)), "native extension build".into());
                    }
                }
                "dependencies" => {
                    if t.starts_with("- !ruby/object:Gem::Dependency") {
                        flush(self, &mut dep, &mut dep_spec, dep_dev);
                        dep_dev = false;
                    } else if line.starts_with("  name:") {
                        dep = t.split_once(':').map(|(_, v)| unquote(v));
                    } else if let Some(op) = t.strip_prefix("- - ") {
                        pending_op = unquote(op);
                    } else if t.starts_with("version:") && !pending_op.is_empty() && dep.is_some() {
                        let v = t.split_once(':').map(|(_, v)| unquote(v)).unwrap_or_default();
                        dep_spec.push(format!("{} {v}", std::mem::take(&mut pending_op)));
                    } else if line.starts_with("  type:") {
                        dep_dev = t.contains("development");
                    }
                }
                _ => {}
            }
        }
        flush(self, &mut dep, &mut dep_spec, dep_dev);
    }
}

/// A Cargo dependency table as one string: its version, or where it comes from.
fn cargo_source(t: &toml::Table) -> String {
    let s = |k: &str| t.get(k).and_then(|v| v.as_str());
    if let Some(git) = s("git") {
        format!("git {git}")
    } else if let Some(path) = s("path") {
        format!("path {path}")
    } else if t.get("workspace").and_then(toml::Value::as_bool) == Some(true) {
        // A source tree's manifest (preflight's publish set): the workspace sets the version.
        "workspace".to_string()
    } else if let Some(reg) = s("registry-index").or(s("registry")) {
        format!("{} (registry {reg})", s("version").unwrap_or("*"))
    } else {
        s("version").unwrap_or("*").to_string()
    }
}

/// Why the range `new` accepts more than `old` did (or comes from a non-registry source).
/// `caret_default`: a bare version is a caret range (Cargo), not an exact pin (npm).
pub fn loosened(old: &str, new: &str, caret_default: bool) -> Option<&'static str> {
    let (o, n) = (old.trim(), new.trim());
    if o == n {
        return None;
    }
    let source = |s: &str| {
        ["git", "http:", "https:", "file:", "path ", "github:", "link:"].iter().any(|p| s.starts_with(p))
            || s.contains("://")
            || (s.contains('/') && !s.contains(' ') && !s.starts_with('<') && !s.starts_with('>'))
    };
    if source(n) && !source(o) {
        return Some("now from a source outside the registry");
    }
    let any = |s: &str| matches!(s, "" | "*" | "x" | "latest" | ">=0" | ">= 0");
    if any(n) && !any(o) {
        return Some("now accepts any version");
    }
    let exact = |s: &str| {
        if caret_default && !s.starts_with('=') {
            return false;
        }
        let s = s.trim_start_matches("==").trim_start_matches('=').trim();
        !s.is_empty() && s.chars().next().is_some_and(|c| c.is_ascii_digit()) && !s.contains([' ', ',', '*', 'x'])
    };
    if exact(o) && !exact(n) {
        return Some("was pinned");
    }
    if o.starts_with('~') && n.starts_with('^') {
        return Some("patch range widened to a minor range");
    }
    if o.contains('<') && !n.contains('<') && !n.contains('^') && !n.contains('~') {
        return Some("upper bound dropped");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loosening() {
        let cases = [
            ("1.2.3", "^1.2.3", true),
            ("^1.2.3", "^1.3.0", false),
            ("~1.2.3", "^1.2.3", true),
            ("^1.0.0", "*", true),
            ("^1.0.0", "git+https://example.invalid/x.git", true),
            ("==1.0", ">=1.0", true),
            (">=1.0,<2", ">=1.0", true),
            ("1", "1.1", false),
            ("1.0", "git https://example.invalid/x", true),
        ];
        for (o, n, want) in cases {
            assert_eq!(loosened(o, n, false).is_some(), want, "{o} -> {n}");
        }
        assert!(loosened("=1.0.5", "1.0", true).is_some(), "cargo: a bare version is a caret range");
        assert!(loosened("1.0.5", "1.0.6", true).is_none());
        let mut m = Manifest::default();
        m.cargo("[package]\nname = \"a\"\n[dependencies]\nw = { workspace = true }\np = { path = \"../p\" }\n");
        assert_eq!((m.deps["w"].as_str(), m.deps["p"].as_str()), ("workspace", "path ../p"));
        assert!(loosened("1.0", "workspace", true).is_none(), "the workspace pins it: a change, not a loosening");
    }

    #[test]
    fn gem_metadata() {
        let yaml = "--- !ruby/object:Gem::Specification\nname: acme\nversion: !ruby/object:Gem::Version\n  version: 1.2.0\ndependencies:\n- !ruby/object:Gem::Dependency\n  name: rake\n  requirement: !ruby/object:Gem::Requirement\n    requirements:\n    - - \"~>\"\n      - !ruby/object:Gem::Version\n        version: '13.0'\n  type: :runtime\n- !ruby/object:Gem::Dependency\n  name: rspec\n  type: :development\nexecutables:\n- acme\nextensions:\n- ext/acme/extconf.rb\nfiles: []\n";
        let mut m = Manifest::default();
        m.gem(yaml);
        assert_eq!(m.name.as_deref(), Some("acme"));
        assert_eq!(m.version.as_deref(), Some("1.2.0"));
        assert_eq!(m.deps.get("rake").map(String::as_str), Some("~> 13.0"));
        assert!(m.deps.contains_key("dev:rspec"));
        assert!(m.bins.contains_key("acme"));
        assert!(m.hooks.contains_key("extensions:ext/acme/extconf.rb"));
    }
}
