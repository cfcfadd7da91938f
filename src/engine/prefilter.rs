//! The keyword prefilter: finds every occurrence of every content rule's keywords (ASCII
//! case-insensitive, overlapping occurrences included) and names the rules to run around it.
//!
//! Each keyword is filed under one hashed gram ([`gram`](super::gram)): its rarest 4 bytes, or,
//! when it has 3 bytes, itself followed by any byte. The gram table marks the few positions where some keyword may
//! occur; at such a position only the keywords filed under that hash are compared. Every
//! occurrence is found exactly once (at its own gram), so no keyword hides under another and a
//! hit runs only its own keyword's rules (issue 11: the earlier aho-corasick DFA, searched
//! non-overlapping, needed per-keyword lists of hidden keywords, and its 3.7 MB table made it
//! half of the scan's time). `tests/oracle.rs` checks the engine against the naive search.

use std::collections::HashMap;

use super::gram::{self, Table};
use crate::error::{Error, ErrorKind};
use crate::rules::RuleId;

/// The gram table plus, per hash, the keywords filed under it and, per keyword, its rules.
#[derive(Debug)]
pub struct Prefilter {
    table: Table,
    /// `(gram hash, keyword, gram offset in the keyword)`, sorted by hash.
    grams: Vec<(u32, u32, u8)>,
    keywords: Vec<Vec<u8>>,
    owners: Vec<Vec<RuleId>>,
    longest: usize,
}

impl Prefilter {
    /// Builds the table from `(rule, keywords)` pairs; identical keywords (ignoring ASCII case)
    /// share one entry. A keyword shorter than 3 bytes is refused (it would make every position
    /// a candidate).
    pub fn new<'a>(rules: impl IntoIterator<Item = (RuleId, &'a [String])>) -> Result<Prefilter, Error> {
        let mut keywords: Vec<Vec<u8>> = Vec::new();
        let mut owners: Vec<Vec<RuleId>> = Vec::new();
        let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
        for (rule, kws) in rules {
            for kw in kws {
                let lower = kw.as_bytes().to_ascii_lowercase();
                if lower.len() < 3 {
                    return Err(Error::new(
                        ErrorKind::Rule,
                        format!("keyword '{kw}' is shorter than 3 bytes: it would match almost everywhere"),
                    ));
                }
                let i = *index.entry(lower.clone()).or_insert_with(|| {
                    keywords.push(lower);
                    owners.push(Vec::new());
                    keywords.len() - 1
                });
                if !owners[i].contains(&rule) {
                    owners[i].push(rule);
                }
            }
        }
        let (mut table, mut grams) = (Table::new(), Vec::new());
        for (k, kw) in keywords.iter().enumerate() {
            let filed: Vec<(u32, u8)> = if kw.len() == 3 {
                // Every folded byte that can follow (zero stands for the haystack's end).
                (0..=255u8).filter(|c| c & 0x20 != 0).map(|c| (gram::word(&[kw[0], kw[1], kw[2], c], 0), 0)).collect()
            } else {
                let at = gram::rarest_gram(kw);
                vec![(gram::word(kw, at), at as u8)]
            };
            for (w, at) in filed {
                let h = gram::hash4(w);
                table.set(h);
                grams.push((h, k as u32, at));
            }
        }
        grams.sort_unstable();
        grams.dedup();
        let longest = keywords.iter().map(Vec::len).max().unwrap_or(0);
        Ok(Prefilter { table, grams, keywords, owners, longest })
    }

    /// Calls `hit(rule, keyword_start, keyword_end)` for every rule of every keyword occurrence,
    /// in order of the occurrences' grams (a keyword's start is at most [`MAX_KEYWORD`] bytes
    /// before its gram, so starts are out of order by less than that).
    ///
    /// [`MAX_KEYWORD`]: super::MAX_KEYWORD
    #[inline]
    pub fn for_each_hit(&self, haystack: &[u8], mut hit: impl FnMut(RuleId, usize, usize)) {
        self.for_each_occurrence(haystack, |k, start| {
            let end = start + self.keywords[k].len();
            for &rule in &self.owners[k] {
                hit(rule, start, end);
            }
        });
    }

    /// Calls `f(keyword, start)` for every keyword occurrence.
    fn for_each_occurrence(&self, haystack: &[u8], mut f: impl FnMut(usize, usize)) {
        let mut check = |k: usize, start: usize| {
            let kw = &self.keywords[k];
            if haystack.get(start..start + kw.len()).is_some_and(|t| t.eq_ignore_ascii_case(kw)) {
                f(k, start);
            }
        };
        self.table.for_each_candidate(haystack, &mut |at| {
            let h = gram::hash4(gram::word(haystack, at));
            let from = self.grams.partition_point(|e| e.0 < h);
            for &(_, k, off) in self.grams[from..].iter().take_while(|e| e.0 == h) {
                if let Some(start) = at.checked_sub(off as usize) {
                    check(k as usize, start);
                }
            }
        });
    }

    /// `(candidate positions, keyword occurrences, rules run)` over `haystack`: the cost of each
    /// stage (issue 11 asks that rules run per hit stay near 1 as rules are added).
    #[doc(hidden)]
    pub fn hit_stats(&self, haystack: &[u8]) -> (usize, usize, usize) {
        let (mut candidates, mut hits, mut rules) = (0, 0, 0);
        self.table.for_each_candidate(haystack, &mut |_| candidates += 1);
        self.for_each_occurrence(haystack, |k, _| {
            hits += 1;
            rules += self.owners[k].len();
        });
        (candidates, hits, rules)
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
