//! Release review inside the checklist (issue 15): the publish set that preflight built, read
//! as a package ([`Package::from_files`]), goes through the release diff of [`crate::diff`].
//! - `--previous OLD` compares it with an earlier release (a path, or `auto`: the highest
//!   release at or below the manifest's version in `--mirror DIR` or the package caches); each
//!   diff item with a severity becomes a `release.<kind>` item, failing at or above `--fail-on`.
//! - `--against-source [REF]` compares it with the repository at REF: every file must match
//!   the repository or a build output pattern (each ecosystem's defaults plus `[diff]
//!   build_outputs` of `sluice.toml`); the rest are `release.source.*` items with the diff.

use std::path::PathBuf;

use super::publish_set::PublishSet;
use super::{Evidence, Item, Options, Previous, Repo, Section, Status, plural};
use crate::config::Config;
use crate::diff::manifest::Manifest;
use crate::diff::package::Package;
use crate::diff::{self, Diff, Level, locate, source};
use crate::engine::Engine;
use crate::error::Error;
use crate::report::FindingRecord;

/// Changed files and other `info` items listed as evidence of the summary item, at most.
const INFO_EVIDENCE: usize = 200;

/// Adds the `release.*` items asked for by `opts.previous` and `opts.against_source`.
pub fn check(
    repo: &Repo,
    set: &PublishSet,
    findings: &[FindingRecord],
    opts: &Options,
    config: &Config,
    engine: &Engine,
    items: &mut Vec<Item>,
) {
    if opts.previous.is_none() && opts.against_source.is_none() {
        return;
    }
    let listed = set.files.iter().map(|f| (f.rel.clone(), f.path.clone()));
    let new = match Package::from_files(&repo.dir, listed, config.limits) {
        Ok(p) => p,
        Err(e) => {
            items.push(
                Item::new("release.publish-set", Section::Release, Status::Fail, "cannot read the publish set")
                    .with(Evidence::new(".", None, e.to_string()))
                    .fix("fix the cause shown, then run preflight again"),
            );
            return;
        }
    };
    if let Some(previous) = &opts.previous {
        match compare_previous(set, &new, previous, findings, opts, config, engine) {
            Ok(d) => push_diff(&d, "release.previous", opts, items),
            Err(item) => items.push(*item),
        }
    }
    if let Some(rev) = &opts.against_source {
        match compare_source(repo, &new, rev, config) {
            Ok(d) => push_diff(&d, "release.source", opts, items),
            Err(item) => items.push(*item),
        }
    }
}

/// The archive kind a release of `manifest`'s ecosystem is compared with (the publish set of
/// a Python project is its sdist).
fn family(manifest: &Manifest) -> &'static str {
    match manifest.ecosystem {
        Some("npm") => ".tgz",
        Some("crates") => ".crate",
        Some("pypi") => ".tar.gz",
        Some("gems") => ".gem",
        _ => "",
    }
}

fn compare_previous(
    set: &PublishSet,
    new: &Package,
    previous: &Previous,
    findings: &[FindingRecord],
    opts: &Options,
    config: &Config,
    engine: &Engine,
) -> Result<Diff, Box<Item>> {
    const ID: &str = "release.previous";
    let path = match previous {
        Previous::Path(p) => p.clone(),
        Previous::Auto => {
            let m = Manifest::of(new);
            let (Some(name), Some(version)) = (&m.name, &m.version) else {
                return Err(Box::new(
                    Item::new(
                        ID,
                        Section::Release,
                        Status::Warn,
                        "no package name and version: no previous release looked up",
                    )
                    .fix("give the previous release as a path: --previous OLD"),
                ));
            };
            match locate::previous(name, version, true, family(&m), opts.mirror.as_deref()) {
                Ok(p) => p,
                Err(e) => {
                    return Err(Box::new(
                        Item::new(
                            ID,
                            Section::Release,
                            Status::Warn,
                            format!("no earlier release of {name} found: nothing compared"),
                        )
                        .with(Evidence::new(".", None, e.message().to_string()))
                        .fix("give the previous release as a path (--previous OLD) or a mirror (--mirror DIR)"),
                    ));
                }
            }
        }
    };
    let cannot = |e: &Error| {
        Box::new(
            Item::new(
                ID,
                Section::Release,
                Status::Fail,
                format!("cannot read the previous release '{}'", path.display()),
            )
            .with(Evidence::new(path.display().to_string(), None, e.to_string()))
            .fix("give a package archive (.tgz, .crate, .tar.gz, .whl, .gem) or a directory"),
        )
    };
    let mut old = Package::load(&path, config.limits).map_err(|e| cannot(&e))?;
    as_source_tree(&mut old, &set.generated);
    diff::compare(&old, new, Some(findings), config, engine).map_err(|e| cannot(&e))
}

/// Lines a published release up with a publish set read from disk: the files the packaging
/// tool writes into the archive itself (`set_generated`, as the tool listed them) are not on
/// disk, so they are dropped; cargo's normalised `Cargo.toml` is replaced by the manifest as
/// written (`Cargo.toml.orig`), which is what the work tree holds.
fn as_source_tree(old: &mut Package, set_generated: &[String]) {
    if let Some(orig) = old.files.remove("Cargo.toml.orig") {
        old.files.insert("Cargo.toml".into(), orig);
    }
    for name in set_generated {
        old.files.remove(name.trim_start_matches("./"));
    }
}

fn compare_source(repo: &Repo, new: &Package, rev: &str, config: &Config) -> Result<Diff, Box<Item>> {
    const ID: &str = "release.source";
    if repo.tracked.is_none() {
        return Err(Box::new(
            Item::new(
                ID,
                Section::Release,
                Status::Fail,
                "not a git repository: the package cannot be compared with its source",
            )
            .with(Evidence::new(".", None, "git rev-parse found no work tree"))
            .fix("run preflight in the repository's work tree, or drop --against-source"),
        ));
    }
    // A package in a subdirectory (a monorepo) is compared with that directory at REF.
    let prefix = repo.dir.strip_prefix(&repo.root).map(super::slash).unwrap_or_default();
    let tree = if prefix.is_empty() { rev.to_string() } else { format!("{rev}:{prefix}") };
    let src = source::load(&repo.root, Some(&tree), config.limits).map_err(|e| {
        Box::new(
            Item::new(ID, Section::Release, Status::Fail, format!("cannot read the repository at '{rev}'"))
                .with(Evidence::new(".", None, e.message().to_string()))
                .fix("give a ref that exists (--against-source v1.2.3), or commit first"),
        )
    })?;
    let shown = PathBuf::from(format!("{}@{tree}", repo.root.display()));
    diff::compare_source(&src, shown, new, &config.build_outputs).map_err(|e| {
        Box::new(
            Item::new(ID, Section::Release, Status::Fail, "bad build output pattern")
                .with(Evidence::new("sluice.toml", None, e.to_string()))
                .fix("fix [diff] build_outputs in sluice.toml"),
        )
    })
}

/// The items of a diff: one summary item `id` (pass, with the `info` items as evidence) and one
/// rated item per item with a severity.
fn push_diff(d: &Diff, id: &str, opts: &Options, items: &mut Vec<Item>) {
    let c = &d.counts;
    let old = match &d.old_id {
        Some(name) => format!("{name} ({})", d.old.display()),
        None => d.old.display().to_string(),
    };
    let rated: Vec<&diff::Item> = d.items.iter().filter(|i| i.level != Level::Info).collect();
    let title = if id == "release.source" {
        let reported = d.items.len();
        let outputs = c.added + c.changed - reported.min(c.added + c.changed);
        format!(
            "publish set compared with {old}: {} identical, {} build outputs, {}",
            plural(c.unchanged, "file"),
            outputs,
            if reported == 0 { "nothing else".to_string() } else { plural(reported, "file") + " reported" }
        )
    } else {
        format!(
            "compared with {old}: {} added, {} removed, {} changed, {} unchanged{}",
            c.added,
            c.removed,
            c.changed,
            c.unchanged,
            if rated.is_empty() { "; nothing that matters" } else { "" }
        )
    };
    let mut summary = Item::new(id, Section::Release, Status::Pass, title);
    for i in d.items.iter().filter(|i| i.level == Level::Info).take(INFO_EVIDENCE) {
        summary = summary.with(evidence(i));
    }
    items.push(summary);
    for i in rated {
        let Level::At(severity) = i.level else { continue };
        let kind = i.kind.strip_prefix("source.").unwrap_or(i.kind).replace('.', "-");
        // A one-line detail (a size, a command, a masked secret) is the evidence's note; a
        // longer one (a unified diff) is shown under it.
        let (note, detail) = match &i.detail {
            Some(d) if d.contains('\n') => (i.kind.to_string(), Some(d.clone())),
            Some(d) => (d.clone(), None),
            None => (i.kind.to_string(), None),
        };
        let path = i.path.clone().unwrap_or_else(|| ".".into());
        let mut item = Item::rated(format!("{id}.{kind}"), Section::Release, severity, opts.fail_on, &i.title)
            .with(Evidence::new(path, None, note))
            .fix(fix(i.kind));
        item.detail = detail;
        items.push(item);
    }
    if !d.problems.is_empty() {
        let mut item = Item::new(
            format!("{id}.errors"),
            Section::Release,
            Status::Warn,
            format!("{} could not be read: the comparison is incomplete", plural(d.problems.len(), "member")),
        )
        .fix("check these files by hand");
        for p in d.problems.iter().take(INFO_EVIDENCE) {
            item = item.with(Evidence::new(".", None, p.clone()));
        }
        items.push(item);
    }
}

fn evidence(i: &diff::Item) -> Evidence {
    let note = match &i.detail {
        Some(d) if !d.contains('\n') => format!("{} ({d})", i.title),
        _ => i.title.clone(),
    };
    Evidence::new(i.path.clone().unwrap_or_else(|| ".".into()), None, note)
}

/// What to do about a diff item of `kind`.
fn fix(kind: &str) -> &'static str {
    match kind {
        "install.script" | "install.file" => {
            "make sure you wrote this install-time code: it runs on every machine that installs the package"
        }
        "dependency.added" | "dependency.loosened" => {
            "review the new or loosened dependency before it ships to every user"
        }
        "file.added-binary" | "file.obfuscated" => {
            "check where this file comes from: compiled or obfuscated code is unreviewable"
        }
        "finding.new" => "remove the secret from the package and rotate it",
        "bin.added" | "bin.changed" => "make sure the package should install this command",
        "source.differs" | "source.missing" => {
            "the package does not match the repository: rebuild from a clean checkout, or declare build outputs in sluice.toml ([diff] build_outputs)"
        }
        _ => "review this change before publishing",
    }
}
