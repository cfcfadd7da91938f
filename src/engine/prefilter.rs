//! The keyword prefilter: one aho-corasick automaton over every content rule's keywords
//! (ASCII case-insensitive). A hit names the rules whose patterns must run around it.
//!
//! The search is non-overlapping (standard semantics: a match is reported where it first ends),
//! several times faster than an overlapping search over the same automaton. A keyword hidden inside or overlapping a reported
//! hit (`token` inside `api_token`, `key_` overlapping `api_key_`) is not reported itself, so
//! each keyword keeps the list of other keywords that could hide under it, with their offset, and
//! a hit checks those few places in the text: the hidden keyword's rules run only where it really
//! occurs (issue 11: before, every rule of every keyword that could overlap ran on every hit, so
//! `_authtoken` ran 41 rules). Every occurrence of a keyword is either reported or overlaps a
//! reported hit, so this finds exactly what an overlapping search finds (`tests/oracle.rs`
//! checks the result equals the naive search).

use std::collections::HashMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::error::{Error, ErrorKind};
use crate::rules::RuleId;

/// Keyword automaton plus, per keyword, the rules to run when it hits and the keywords that
/// can hide under it.
#[derive(Debug)]
pub struct Prefilter {
    automaton: AhoCorasick,
    keywords: Vec<Vec<u8>>,
    owners: Vec<Vec<RuleId>>,
    /// Per keyword `k`: `(j, d)` when keyword `j` starting `d` bytes after `k`'s start overlaps
    /// `k` and agrees with it on the shared bytes. Computed on `k`'s first hit (start-up stays
    /// small with a thousand keywords).
    hidden: Vec<OnceLock<Vec<(u32, isize)>>>,
    longest: usize,
}

impl Prefilter {
    /// Builds the automaton from `(rule, keywords)` pairs; identical keywords (ignoring ASCII
    /// case) share one pattern.
    pub fn new<'a>(rules: impl IntoIterator<Item = (RuleId, &'a [String])>) -> Result<Prefilter, Error> {
        let mut keywords: Vec<Vec<u8>> = Vec::new();
        let mut direct: Vec<Vec<RuleId>> = Vec::new();
        let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
        for (rule, kws) in rules {
            for kw in kws {
                let lower = kw.as_bytes().to_ascii_lowercase();
                let i = *index.entry(lower.clone()).or_insert_with(|| {
                    keywords.push(lower);
                    direct.push(Vec::new());
                    keywords.len() - 1
                });
                if !direct[i].contains(&rule) {
                    direct[i].push(rule);
                }
            }
        }
        let hidden = keywords.iter().map(|_| OnceLock::new()).collect();
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keywords)
            .map_err(|e| Error::new(ErrorKind::Rule, format!("cannot build the keyword automaton: {e}")))?;
        let longest = keywords.iter().map(Vec::len).max().unwrap_or(0);
        Ok(Prefilter { automaton, keywords, owners: direct, hidden, longest })
    }

    /// Calls `hit(rule, keyword_start, keyword_end)` for every rule to run around every
    /// non-overlapping keyword occurrence, in order of the occurrences.
    #[inline]
    pub fn for_each_hit(&self, haystack: &[u8], mut hit: impl FnMut(RuleId, usize, usize)) {
        for m in self.automaton.find_iter(haystack) {
            let k = m.pattern().as_usize();
            for &rule in &self.owners[k] {
                hit(rule, m.start(), m.end());
            }
            for &(j, d) in self.hidden[k].get_or_init(|| self.hidden_under(k)) {
                let other = &self.keywords[j as usize];
                let Some(at) = m.start().checked_add_signed(d) else { continue };
                if haystack.get(at..at + other.len()).is_some_and(|t| t.eq_ignore_ascii_case(other)) {
                    for &rule in &self.owners[j as usize] {
                        hit(rule, at, at + other.len());
                    }
                }
            }
        }
    }

    /// Every `(j, d)`: keyword `j`, starting `d` bytes after keyword `k`, overlaps it in a way text
    /// can hold.
    fn hidden_under(&self, k: usize) -> Vec<(u32, isize)> {
        let key = &self.keywords[k];
        let mut list = Vec::new();
        for (j, other) in self.keywords.iter().enumerate() {
            if j != k {
                list.extend(
                    ((1 - other.len().cast_signed())..key.len().cast_signed())
                        .filter(|&d| agree(key, other, d))
                        .map(|d| (j as u32, d)),
                );
            }
        }
        list
    }

    /// `(keyword hits, rules run, rules the old owner lists ran)` over `haystack`: the per-hit
    /// rule count of issue 11, before (every rule of every keyword that can overlap the hit's
    /// keyword) and now (the hit's own rules plus those of keywords really hidden under it).
    #[doc(hidden)]
    pub fn hit_stats(&self, haystack: &[u8]) -> (usize, usize, usize) {
        let (mut hits, mut now, mut before) = (0, 0, 0);
        for m in self.automaton.find_iter(haystack) {
            hits += 1;
            let k = m.pattern().as_usize();
            let mut wide: Vec<RuleId> = self.owners[k].clone();
            for &(j, _) in self.hidden[k].get_or_init(|| self.hidden_under(k)) {
                wide.extend(&self.owners[j as usize]);
            }
            wide.sort_unstable();
            wide.dedup();
            before += wide.len();
        }
        self.for_each_hit(haystack, |_, _, _| now += 1);
        (hits, now, before)
    }

    /// The longest keyword: windows are widened by this much on each side.
    pub fn longest_keyword(&self) -> usize {
        self.longest
    }

    /// Number of distinct keywords.
    pub fn keyword_count(&self) -> usize {
        self.owners.len()
    }
}

/// True when `b` placed `d` bytes after the start of `a` overlaps it and agrees with it on every
/// shared byte. (Keywords are lowercase.)
fn agree(a: &[u8], b: &[u8], d: isize) -> bool {
    let (la, lb) = (a.len().cast_signed(), b.len().cast_signed());
    let (from, to) = (d.max(0), (d + lb).min(la));
    from < to && (from..to).all(|i| a[i as usize] == b[(i - d) as usize])
}

/// True when occurrences of `a` and `b` can share bytes in some text.
#[cfg(test)]
fn can_overlap(a: &[u8], b: &[u8]) -> bool {
    ((1 - b.len().cast_signed())..a.len().cast_signed()).any(|d| agree(a, b, d))
}

#[cfg(test)]
mod tests {
    use super::can_overlap;

    #[test]
    fn overlap_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("token", "api_token", true),
            ("ghp_", "ghp_", true),
            ("abc", "bcd", true),
            ("bcd", "abc", true),
            ("akia", "ghp_", false),
            ("xoxb-", "xoxp-", false),
        ];
        for &(a, b, want) in cases {
            assert_eq!(can_overlap(a.as_bytes(), b.as_bytes()), want, "{a} {b}");
        }
    }
}
