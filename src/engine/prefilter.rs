//! The keyword prefilter: one aho-corasick automaton over every content rule's keywords
//! (ASCII case-insensitive). A hit names the rules whose patterns must run around it.
//!
//! The search is non-overlapping (leftmost-longest), which is several times faster than an
//! overlapping search over the same automaton. A keyword hidden inside or overlapping a reported
//! hit (`token` inside `api_token`) is not reported itself, so each keyword's owner list also
//! holds the rules of every keyword that can overlap it in text, and windows are widened by the
//! longest keyword: the rules that an overlapping search would have triggered still run over a
//! window that covers theirs (`tests/oracle.rs` checks the result equals the naive search).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::error::{Error, ErrorKind};
use crate::rules::RuleId;

/// Keyword automaton plus, per keyword, the rules to run when it hits.
#[derive(Debug)]
pub struct Prefilter {
    automaton: AhoCorasick,
    owners: Vec<Vec<RuleId>>,
    longest: usize,
}

impl Prefilter {
    /// Builds the automaton from `(rule, keywords)` pairs; identical keywords (ignoring ASCII
    /// case) share one pattern.
    pub fn new<'a>(rules: impl IntoIterator<Item = (RuleId, &'a [String])>) -> Result<Prefilter, Error> {
        let mut keywords: Vec<Vec<u8>> = Vec::new();
        let mut direct: Vec<Vec<RuleId>> = Vec::new();
        for (rule, kws) in rules {
            for kw in kws {
                let lower = kw.as_bytes().to_ascii_lowercase();
                let i = if let Some(i) = keywords.iter().position(|k| *k == lower) {
                    i
                } else {
                    keywords.push(lower);
                    direct.push(Vec::new());
                    keywords.len() - 1
                };
                if !direct[i].contains(&rule) {
                    direct[i].push(rule);
                }
            }
        }
        let owners = keywords
            .iter()
            .map(|k| {
                let mut rules: Vec<RuleId> = keywords
                    .iter()
                    .zip(&direct)
                    .filter(|(j, _)| can_overlap(k, j))
                    .flat_map(|(_, r)| r.iter().copied())
                    .collect();
                rules.sort_unstable();
                rules.dedup();
                rules
            })
            .collect();
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keywords)
            .map_err(|e| Error::new(ErrorKind::Rule, format!("cannot build the keyword automaton: {e}")))?;
        let longest = keywords.iter().map(Vec::len).max().unwrap_or(0);
        Ok(Prefilter { automaton, owners, longest })
    }

    /// Calls `hit(rule, keyword_start, keyword_end)` for every rule to run around every
    /// non-overlapping keyword occurrence, in order of the occurrences.
    #[inline]
    pub fn for_each_hit(&self, haystack: &[u8], mut hit: impl FnMut(RuleId, usize, usize)) {
        for m in self.automaton.find_iter(haystack) {
            for &rule in &self.owners[m.pattern().as_usize()] {
                hit(rule, m.start(), m.end());
            }
        }
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

/// True when occurrences of `a` and `b` can share bytes in some text: one contains the other, or
/// a suffix of one is a prefix of the other. (Keywords are lowercase.)
fn can_overlap(a: &[u8], b: &[u8]) -> bool {
    let contains = |x: &[u8], y: &[u8]| y.len() <= x.len() && x.windows(y.len()).any(|w| w == y);
    if contains(a, b) || contains(b, a) {
        return true;
    }
    let n = a.len().min(b.len());
    (1..n).any(|k| a.ends_with(&b[..k]) || b.ends_with(&a[..k]))
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
