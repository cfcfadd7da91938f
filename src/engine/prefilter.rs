//! The keyword prefilter: one aho-corasick automaton over every content rule's keywords
//! (ASCII case-insensitive). A hit names the rules that own the keyword and the offsets around
//! which those rules' patterns must run.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::error::{Error, ErrorKind};
use crate::rules::RuleId;

/// Keyword automaton plus, per keyword, the rules that listed it.
#[derive(Debug)]
pub struct Prefilter {
    automaton: AhoCorasick,
    owners: Vec<Vec<RuleId>>,
}

impl Prefilter {
    /// Builds the automaton from `(rule, keywords)` pairs; identical keywords (ignoring ASCII
    /// case) share one pattern.
    pub fn new<'a>(rules: impl IntoIterator<Item = (RuleId, &'a [String])>) -> Result<Prefilter, Error> {
        let mut keywords: Vec<Vec<u8>> = Vec::new();
        let mut owners: Vec<Vec<RuleId>> = Vec::new();
        for (rule, kws) in rules {
            for kw in kws {
                let lower = kw.as_bytes().to_ascii_lowercase();
                let i = match keywords.iter().position(|k| *k == lower) {
                    Some(i) => i,
                    None => {
                        keywords.push(lower);
                        owners.push(Vec::new());
                        keywords.len() - 1
                    }
                };
                if !owners[i].contains(&rule) {
                    owners[i].push(rule);
                }
            }
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&keywords)
            .map_err(|e| Error::new(ErrorKind::Rule, format!("cannot build the keyword automaton: {e}")))?;
        Ok(Prefilter { automaton, owners })
    }

    /// Calls `hit(rule, keyword_start, keyword_end)` for every keyword occurrence, overlapping
    /// ones included, in order of their end offset.
    #[inline]
    pub fn for_each_hit(&self, haystack: &[u8], mut hit: impl FnMut(RuleId, usize, usize)) {
        for m in self.automaton.find_overlapping_iter(haystack) {
            for &rule in &self.owners[m.pattern().as_usize()] {
                hit(rule, m.start(), m.end());
            }
        }
    }

    /// Number of distinct keywords.
    pub fn keyword_count(&self) -> usize {
        self.owners.len()
    }
}
