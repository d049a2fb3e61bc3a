//! Whole-string globs with the upstream policy's meaning (`*` any run of characters, `/`
//! included; `?` exactly one character; no escapes; case-sensitive), matched in time linear in
//! the text: the pattern is split at `*` once, its first and last pieces are anchored at the ends
//! and every middle piece is found leftmost with a substring search. A generic wildcard matcher
//! backtracks character by character, and image names are attacker-chosen: 10,000 long names
//! against 300 rules starting with `*` took seconds that way.

/// One piece of a pattern between two `*`.
#[derive(Debug, Clone)]
struct Piece {
    text: String,
    /// Holds `?`: compared character by character instead of searched as a literal.
    has_any: bool,
}

impl Piece {
    fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            has_any: text.contains('?'),
        }
    }

    /// Where the piece ends when it matches `text` at byte `at`.
    fn match_at(&self, text: &str, at: usize) -> Option<usize> {
        let rest = text.get(at..)?;
        if !self.has_any {
            return rest.starts_with(&self.text).then(|| at + self.text.len());
        }
        let mut chars = rest.char_indices();
        for wanted in self.text.chars() {
            let (_, found) = chars.next()?;
            if wanted != '?' && wanted != found {
                return None;
            }
        }
        Some(chars.next().map_or(text.len(), |(i, _)| at + i))
    }

    /// The leftmost match in `text[from..limit]`: (start, end).
    fn find(&self, text: &str, from: usize, limit: usize) -> Option<(usize, usize)> {
        let window = text.get(from..limit)?;
        if !self.has_any {
            return window
                .find(self.text.as_str())
                .map(|i| (from + i, from + i + self.text.len()));
        }
        window
            .char_indices()
            .map(|(i, _)| from + i)
            .chain(std::iter::once(limit))
            .find_map(|start| {
                let end = self.match_at(text.get(..limit)?, start)?;
                Some((start, end))
            })
    }

    fn char_count(&self) -> usize {
        self.text.chars().count()
    }
}

/// A compiled upstream glob (`*` any run, `?` one character), matched in linear time.
#[derive(Debug, Clone)]
pub struct Glob {
    /// The pattern split at every `*`: one piece means no `*` at all.
    pieces: Vec<Piece>,
}

impl Glob {
    /// The glob `pattern` compiled.
    pub fn new(pattern: &str) -> Self {
        Self {
            pieces: pattern.split('*').map(Piece::new).collect(),
        }
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let (Some(first), Some(last)) = (self.pieces.first(), self.pieces.last()) else {
            return text.is_empty();
        };
        if self.pieces.len() == 1 {
            return first.match_at(text, 0) == Some(text.len());
        }
        let Some(mut cursor) = first.match_at(text, 0) else {
            return false;
        };
        // The last piece is anchored at the end: it starts `char_count` characters before it.
        let tail_chars = last.char_count();
        let tail_start = match tail_chars {
            0 => text.len(),
            n => match text.char_indices().rev().nth(n - 1) {
                Some((i, _)) => i,
                None => return false,
            },
        };
        if tail_start < cursor || last.match_at(text, tail_start) != Some(text.len()) {
            return false;
        }
        let middle = self
            .pieces
            .get(1..self.pieces.len() - 1)
            .unwrap_or_default();
        for piece in middle {
            match piece.find(text, cursor, tail_start) {
                Some((_, end)) => cursor = end,
                None => return false,
            }
        }
        true
    }
}

impl Glob {
    /// The longest piece between two `*` without `?`: a text the glob matches contains it.
    fn required_literal(&self) -> Option<&str> {
        let inner = self.pieces.get(1..self.pieces.len().saturating_sub(1))?;
        inner
            .iter()
            .filter(|piece| !piece.has_any && !piece.text.is_empty())
            .max_by_key(|piece| piece.text.len())
            .map(|piece| piece.text.as_str())
    }
}

/// Every occurrence of a set of literals in a text. Each literal is keyed by its first
/// `min(length, KEY_MAX)` bytes; one pass per distinct key length rolls a hash over the text's
/// windows of that length, a 4,096-bit filter of the keys' hashes dismisses almost every window
/// with one bit test, and a hit is confirmed against the whole literals of that key. The cost is
/// the text's length times at most `KEY_MAX` distinct key lengths, plus the confirmations (at
/// most the literals sharing a key, per position): linear in the attacker's text for given
/// settings. An Aho-Corasick automaton does the same in one pass but weighs about 115 KB of the
/// module.
struct LiteralScan {
    literals: Vec<Vec<u8>>,
    /// Per distinct key length: that length, its filter and (key hash, literal id), sorted.
    passes: Vec<Pass>,
}

struct Pass {
    key_len: usize,
    filter: [u64; FILTER_WORDS],
    entries: Vec<(u64, usize)>,
}

/// Longer literals are keyed by their first `KEY_MAX` bytes, so long literals of many lengths
/// share one pass.
const KEY_MAX: usize = 8;
const FILTER_WORDS: usize = 64;

/// The filter bit of a hash: its top bits after a multiplicative mix (the low bits of a
/// polynomial hash mix poorly).
fn filter_slot(hash: u64) -> (usize, u64) {
    let slot = (hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 52) as usize;
    (slot / 64 % FILTER_WORDS, 1u64 << (slot % 64))
}

/// Polynomial rolling hash base (odd, so multiplication by it is a bijection mod 2^64).
const BASE: u64 = 0x100_0000_01b3;

fn hash_of(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |h, &b| {
        h.wrapping_mul(BASE).wrapping_add(u64::from(b))
    })
}

impl LiteralScan {
    fn new(literals: Vec<String>) -> Self {
        let literals: Vec<Vec<u8>> = literals.into_iter().map(String::into_bytes).collect();
        let mut passes: Vec<Pass> = Vec::new();
        for (id, literal) in literals.iter().enumerate() {
            let key = literal.get(..KEY_MAX).unwrap_or(literal);
            let entry = (hash_of(key), id);
            let (word, bit) = filter_slot(entry.0);
            let pass = match passes.iter().position(|p| p.key_len == key.len()) {
                Some(i) => passes.get_mut(i),
                None => {
                    passes.push(Pass {
                        key_len: key.len(),
                        filter: [0; FILTER_WORDS],
                        entries: Vec::new(),
                    });
                    passes.last_mut()
                }
            };
            if let Some(pass) = pass {
                // Kept sorted by insertion (settings-sized, built once per request): a sort
                // instantiation would weigh kilobytes of the module.
                let at = pass.entries.partition_point(|e| *e < entry);
                pass.entries.insert(at, entry);
                if let Some(word) = pass.filter.get_mut(word) {
                    *word |= bit;
                }
            }
        }
        Self { literals, passes }
    }

    /// Per literal: whether it occurs in `text`.
    fn occurring(&self, text: &str) -> Vec<bool> {
        let text = text.as_bytes();
        let mut found = vec![false; self.literals.len()];
        for pass in &self.passes {
            let len = pass.key_len;
            let (Some(first), Some(incoming)) = (text.get(..len), text.get(len..)) else {
                continue;
            };
            let mut window = hash_of(first);
            // BASE^(len-1): the weight of the byte leaving the window.
            let leaving_weight = (1..len).fold(1u64, |w, _| w.wrapping_mul(BASE));
            let mut check = |start: usize, window: u64| {
                let (word, bit) = filter_slot(window);
                if pass.filter.get(word).is_some_and(|w| w & bit != 0) {
                    self.confirm(text, start, window, &pass.entries, &mut found);
                }
            };
            for (start, (&out, &into)) in text.iter().zip(incoming).enumerate() {
                check(start, window);
                window = window
                    .wrapping_sub(u64::from(out).wrapping_mul(leaving_weight))
                    .wrapping_mul(BASE)
                    .wrapping_add(u64::from(into));
            }
            check(incoming.len(), window);
        }
        found
    }

    /// Marks the literals whose key hash is `hash` and that occur at `text[start..]`.
    fn confirm(
        &self,
        text: &[u8],
        start: usize,
        hash: u64,
        entries: &[(u64, usize)],
        found: &mut [bool],
    ) {
        let first = entries.partition_point(|(h, _)| *h < hash);
        let rest = text.get(start..).unwrap_or_default();
        let same_hash = entries
            .get(first..)
            .unwrap_or_default()
            .iter()
            .take_while(|(h, _)| *h == hash);
        for (_, id) in same_hash {
            if self
                .literals
                .get(*id)
                .is_some_and(|literal| rest.starts_with(literal))
                && let Some(flag) = found.get_mut(*id)
            {
                *flag = true;
            }
        }
    }
}

/// Many globs matched against one text at once. Each glob's required middle literal goes into
/// one [`LiteralScan`], so a text is scanned once for all of them and only globs whose literal
/// occurs are matched in full: the cost is linear in the text plus the globs, not in their
/// product. (Image references are at most a few hundred characters, so few globs' literals can
/// occur in one.)
pub struct GlobSet {
    globs: Vec<Glob>,
    /// Per glob: the scan's id of its required literal.
    required: Vec<Option<usize>>,
    scan: LiteralScan,
}

impl GlobSet {
    /// The globs of `patterns`, sharing one scan for their required literals.
    pub fn new<'p>(patterns: impl IntoIterator<Item = &'p str>) -> Self {
        let globs: Vec<Glob> = patterns.into_iter().map(Glob::new).collect();
        let mut literals: Vec<String> = Vec::new();
        let required = globs
            .iter()
            .map(|glob| {
                let literal = glob.required_literal()?;
                Some(match literals.iter().position(|l| l == literal) {
                    Some(id) => id,
                    None => {
                        literals.push(literal.to_string());
                        literals.len() - 1
                    }
                })
            })
            .collect();
        Self {
            globs,
            required,
            scan: LiteralScan::new(literals),
        }
    }

    /// Number of globs.
    pub fn len(&self) -> usize {
        self.globs.len()
    }

    /// Whether the set has no glob.
    pub fn is_empty(&self) -> bool {
        self.globs.is_empty()
    }

    /// Marks in `matched` (one flag per glob) every glob that matches `text`.
    pub fn mark_matches(&self, text: &str, matched: &mut [bool]) {
        let found = self.scan.occurring(text);
        for ((glob, required), flag) in self.globs.iter().zip(&self.required).zip(matched) {
            if *flag {
                continue;
            }
            let possible = match required {
                Some(id) => found.get(*id).copied().unwrap_or(true),
                None => true,
            };
            *flag = possible && glob.matches(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Glob, GlobSet, LiteralScan};
    use wildmatch::WildMatch;

    /// Every string of `alphabet` up to `max` characters.
    fn strings(alphabet: &[char], max: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut layer = vec![String::new()];
        for _ in 0..max {
            layer = layer
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(layer.iter().cloned());
        }
        all
    }

    /// Same answers as the upstream policy's matcher on every small pattern and text.
    #[test]
    fn agrees_with_wildmatch_exhaustively() {
        let patterns = strings(&['a', 'b', 'é', '*', '?'], 5);
        let texts = strings(&['a', 'b', 'é'], 6);
        for pattern in &patterns {
            let ours = Glob::new(pattern);
            let theirs = WildMatch::new(pattern);
            for text in &texts {
                assert_eq!(
                    ours.matches(text),
                    theirs.matches(text),
                    "pattern {pattern:?} text {text:?}"
                );
            }
        }
    }

    /// The scan finds exactly the literals `str::contains` finds, literals of several lengths
    /// and multi-byte characters included.
    #[test]
    fn literal_scan_agrees_with_contains() {
        let mut literals = strings(&['a', 'b', 'é'], 3);
        // Longer than a key: keyed by a prefix, confirmed whole.
        literals.extend(["aaaaaaaaab", "aaaaaaaaaa", "abababababé", "ééééa"].map(String::from));
        let literals: Vec<String> = literals.into_iter().filter(|l| !l.is_empty()).collect();
        let scan = LiteralScan::new(literals.clone());
        let long = ["aaaaaaaaaaab", "xabababababéy", "ééééa", "aaaaaaaaab"].map(String::from);
        for text in strings(&['a', 'b', 'é'], 5).into_iter().chain(long) {
            let found = scan.occurring(&text);
            for (literal, flag) in literals.iter().zip(&found) {
                assert_eq!(
                    *flag,
                    text.contains(literal.as_str()),
                    "{literal:?} {text:?}"
                );
            }
        }
    }

    /// The set answers exactly what each glob answers alone.
    #[test]
    fn glob_set_agrees_with_each_glob() {
        let patterns = strings(&['a', 'b', '*', '?'], 4);
        let set = GlobSet::new(patterns.iter().map(String::as_str));
        for text in strings(&['a', 'b'], 6) {
            let mut matched = vec![false; set.len()];
            set.mark_matches(&text, &mut matched);
            for (pattern, flag) in patterns.iter().zip(&matched) {
                assert_eq!(
                    *flag,
                    Glob::new(pattern).matches(&text),
                    "{pattern:?} {text:?}"
                );
            }
        }
    }

    #[test]
    fn image_globs() {
        let cases = [
            ("ghcr.io/org/*", "ghcr.io/org/team/app:v1", true),
            ("ghcr.io/org/*", "ghcr.io/org-evil/app:v1", false),
            ("ghcr.io/org/app:v?", "ghcr.io/org/app:v10", false),
            ("ghcr.io/org/app:v?", "ghcr.io/org/app:v1", true),
            ("*/team/*", "registry.bench.local/team/app0:v1", true),
            (
                "*.other1.example/*",
                "registry.bench.local/team/app0:v1",
                false,
            ),
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("a*a", "a", false),
            ("a*a", "aa", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(
                Glob::new(pattern).matches(text),
                expected,
                "{pattern} {text}"
            );
        }
    }
}
