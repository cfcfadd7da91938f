//! The scanning engine: bytes in, findings (offsets) out. It knows no paths, files or output.
//!
//! An [`Engine`] is built once from a [`RuleSet`] and shared by every thread; each thread owns a
//! [`Scratch`]. `scan` runs the keyword [`prefilter`] over the haystack, collects for each
//! candidate rule the windows around its keyword hits (merging overlaps), and runs only those
//! rules' patterns inside those windows ([`verify`]). See `src/engine/DESIGN.md`.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod check;
pub mod entropy;
pub mod finding;
mod gram;
pub mod prefilter;
mod simd;
pub mod verify;

use std::ops::Range;

pub use crate::rules::validate;
pub use finding::Finding;

use crate::error::Error;
use crate::rules::{RuleId, RuleSet};
use prefilter::Prefilter;
use verify::{Compiled, RuleScratch};

pub use crate::rules::bounds::{MAX_KEYWORD, MAX_MATCH, WINDOW_AFTER, WINDOW_BEFORE};

/// Receives findings from [`Engine::scan`].
pub trait Sink {
    /// One confirmed finding.
    fn finding(&mut self, finding: Finding);
}

impl Sink for Vec<Finding> {
    fn finding(&mut self, finding: Finding) {
        self.push(finding);
    }
}

/// The compiled rule set: prefilter plus one pattern per content rule. `Send + Sync`.
#[derive(Debug)]
pub struct Engine {
    rules: RuleSet,
    compiled: Vec<Option<Compiled>>,
    /// Per rule: a `generic.*` rule that yields to specific rules on the same secret.
    generic: Vec<bool>,
    prefilter: Prefilter,
}

/// Per-thread state: regex caches and window lists. Create with [`Engine::scratch`].
#[derive(Debug)]
pub struct Scratch {
    rules: Vec<Option<RuleScratch>>,
    windows: Vec<Vec<Range<usize>>>,
    touched: Vec<RuleId>,
    found: Vec<Finding>,
}

impl Engine {
    /// Compiles every content rule of `rules`; the error names the first rule that fails.
    pub fn new(rules: RuleSet) -> Result<Engine, Error> {
        let mut compiled = Vec::with_capacity(rules.len());
        for (i, rule) in rules.rules().iter().enumerate() {
            let id = RuleId(i as u32);
            compiled.push(match &rule.pattern {
                Some(p) => Some(Compiled::new(id, rule, p)?),
                None => None,
            });
        }
        let prefilter = Prefilter::new(
            rules
                .rules()
                .iter()
                .enumerate()
                .filter(|(_, r)| r.is_content_rule())
                .map(|(i, r)| (RuleId(i as u32), r.keywords.as_slice())),
        )?;
        let generic = rules.rules().iter().map(|r| r.id.starts_with("generic.")).collect();
        Ok(Engine { rules, compiled, generic, prefilter })
    }

    /// Compiles every pattern now instead of on first use; the error names the first rule
    /// that fails (`sluice rules check`).
    pub fn compile_all(&self) -> Result<(), Error> {
        for (i, c) in self.compiled.iter().enumerate() {
            if let Some(c) = c {
                c.compile(&self.rules.rules()[i].id)?;
            }
        }
        Ok(())
    }

    /// Candidate positions, keyword hits and rules run over `haystack` ([`Prefilter::hit_stats`]).
    #[doc(hidden)]
    pub fn hit_stats(&self, haystack: &[u8]) -> (usize, usize, usize) {
        self.prefilter.hit_stats(haystack)
    }

    /// The rule set this engine was built from ([`RuleId`]s index into it).
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Fresh per-thread state.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            rules: self.compiled.iter().map(|_| None).collect(),
            windows: vec![Vec::new(); self.compiled.len()],
            touched: Vec::new(),
            found: Vec::new(),
        }
    }

    /// Scans `haystack`, pushing findings into `sink` grouped by rule, in offset order per rule.
    pub fn scan(&self, haystack: &[u8], scratch: &mut Scratch, sink: &mut impl Sink) {
        let Scratch { rules, windows, touched, found } = scratch;
        let len = haystack.len();
        let (before, after) =
            (WINDOW_BEFORE + self.prefilter.longest_keyword(), WINDOW_AFTER + self.prefilter.longest_keyword());
        let compiled = &self.compiled;
        self.prefilter.for_each_hit(haystack, |rule, start, end| {
            // A match holds the keyword and is at most `reach` long, and its keyword is at most
            // `before` bytes after its start: the window is the tighter of the two bounds.
            let reach = compiled[rule.index()].as_ref().map_or(0, |c| c.reach);
            let w =
                end.saturating_sub(reach).max(start.saturating_sub(before))..(start + reach).min(end + after).min(len);
            let list = &mut windows[rule.index()];
            // Hits come in order of their grams, so a window may start up to `MAX_KEYWORD`
            // bytes before the previous one: merge whenever the two touch.
            match list.last_mut() {
                Some(last) if w.start <= last.end && last.start <= w.end => {
                    last.start = last.start.min(w.start);
                    last.end = last.end.max(w.end);
                }
                Some(_) => list.push(w),
                None => {
                    touched.push(rule);
                    list.push(w);
                }
            }
        });
        touched.sort_unstable();
        found.clear();
        for rule in touched.drain(..) {
            let Some(compiled) = &self.compiled[rule.index()] else {
                continue;
            };
            let rs = rules[rule.index()].get_or_insert_with(|| compiled.scratch());
            let list = &mut windows[rule.index()];
            sort_and_merge(list);
            for w in list.drain(..) {
                compiled.search(haystack, w, rs, &mut |f| found.push(f));
            }
        }
        self.emit(found, sink);
    }

    /// Drops generic findings whose secret a specific rule also found, then hands the rest on.
    /// A `generic.*` rule exists to catch what no provider rule knows; when both match the same
    /// bytes, the provider rule's finding is the useful one.
    fn emit(&self, found: &mut Vec<Finding>, sink: &mut impl Sink) {
        let specific: Vec<std::ops::Range<usize>> =
            found.iter().filter(|f| !self.generic[f.rule.index()]).map(|f| f.secret.clone()).collect();
        for f in found.drain(..) {
            if self.generic[f.rule.index()] && specific.iter().any(|s| s.start < f.secret.end && f.secret.start < s.end)
            {
                continue;
            }
            sink.finding(f);
        }
    }

    /// The oracle: every content rule's pattern over the whole haystack, no prefilter. Same
    /// filters and the same output order as [`Engine::scan`]; for tests and benches.
    pub fn scan_naive(&self, haystack: &[u8], scratch: &mut Scratch, sink: &mut impl Sink) {
        let mut found = std::mem::take(&mut scratch.found);
        found.clear();
        for compiled in self.compiled.iter().flatten() {
            let rs = scratch.rules[compiled.id.index()].get_or_insert_with(|| compiled.scratch());
            compiled.search_all(haystack, rs, &mut |f| found.push(f));
        }
        self.emit(&mut found, sink);
        scratch.found = found;
    }
}

/// Sorts `windows` by start and merges those that touch (hits arrive almost in order, so this
/// is usually one pass that finds nothing to do).
fn sort_and_merge(windows: &mut Vec<Range<usize>>) {
    if windows.is_sorted_by_key(|w| w.start) {
        return;
    }
    windows.sort_unstable_by_key(|w| w.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(windows.len());
    for w in windows.drain(..) {
        match out.last_mut() {
            Some(last) if w.start <= last.end => last.end = last.end.max(w.end),
            _ => out.push(w),
        }
    }
    *windows = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(toml: &str) -> Engine {
        let mut set = RuleSet::default();
        set.add_toml("test", toml).unwrap();
        Engine::new(set).unwrap()
    }

    const RULE: &str = r#"
[[rule]]
id = "test.tok"
description = "test token"
category = "secret"
severity = "high"
keywords = ["tok_"]
pattern = '\b(tok_[a-z0-9]{8})\b'
stopwords = ["aaaa"]
examples = ["tok_abcd1234"]
negative_examples = ["tok_aaaa1234"]
"#;

    #[test]
    fn finds_and_filters() {
        let e = engine(RULE);
        let mut s = e.scratch();
        let cases: &[(&str, usize)] = &[
            ("x tok_abcd1234 y", 1),
            ("TOK_abcd1234", 0),
            ("tok_aaaa1234", 0),
            ("tok_abcd1234 tok_efgh5678", 2),
            ("xtok_abcd1234", 0),
            ("tok_abcd12345", 0),
        ];
        for &(hay, want) in cases {
            let mut out = Vec::new();
            e.scan(hay.as_bytes(), &mut s, &mut out);
            assert_eq!(out.len(), want, "{hay}");
            let mut naive = Vec::new();
            e.scan_naive(hay.as_bytes(), &mut s, &mut naive);
            assert_eq!(out, naive, "{hay}");
        }
    }

    #[test]
    fn secret_span() {
        let e = engine(RULE);
        let mut out = Vec::new();
        e.scan(b"k = tok_abcd1234;", &mut e.scratch(), &mut out);
        assert_eq!(out[0].secret, 4..16);
    }
}
