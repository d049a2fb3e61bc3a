//! Globs as automata. A settings glob (`*`: any run of characters, `/` included; `?`: one
//! character; everything else literal, as upstream's wildmatch) is run against a language given
//! as a nondeterministic automaton over ASCII: the grammar of image references (per position:
//! registry host, port, repository path, tag, digest) or of namespace names. The product of
//! the two is searched breadth-first; a glob whose product is empty can match no valid
//! reference and is refused at settings validation, and a non-empty product yields a witness,
//! a concrete reference the glob matches.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, OnceLock};

use crate::reference::{DOCKER_HUB, DOCKER_HUB_ALIASES, ReferenceError, canonical_registry};

/// One glob token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Byte(u8),
    One,
    Any,
}

/// A compiled glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGlob {
    tokens: Vec<Token>,
}

impl TokenGlob {
    /// The glob `text` compiled: `*` any run, `?` one character, everything else literal.
    pub fn new(text: &str) -> Self {
        Self {
            tokens: text
                .bytes()
                .map(|b| match b {
                    b'*' => Token::Any,
                    b'?' => Token::One,
                    other => Token::Byte(other),
                })
                .collect(),
        }
    }
}

/// A set of characters as a bit mask over ASCII.
type Class = u128;

const fn range(lo: u8, hi: u8) -> Class {
    let mut mask = 0;
    let mut c = lo;
    while c <= hi {
        mask |= 1 << c;
        c += 1;
    }
    mask
}

const fn one(c: u8) -> Class {
    1 << c
}

const LOWER: Class = range(b'a', b'z');
const UPPER: Class = range(b'A', b'Z');
const DIGIT: Class = range(b'0', b'9');
const ALNUM: Class = LOWER | DIGIT;
const HEX: Class = DIGIT | range(b'a', b'f');
/// `[\w]`: what a tag starts with.
const WORD: Class = LOWER | UPPER | DIGIT | one(b'_');
const TAG_REST: Class = WORD | one(b'.') | one(b'-');

fn contains(class: Class, byte: u8) -> bool {
    byte < 128 && class & (1 << byte) != 0
}

/// A character of `class` for witnesses: the lowest one.
fn representative(class: Class) -> u8 {
    u8::try_from(class.trailing_zeros()).unwrap_or(b'a')
}

/// An automaton with states `0..size()`.
pub trait Automaton {
    /// Number of states.
    fn size(&self) -> usize;
    /// The states a string starts in.
    fn starts(&self) -> Vec<usize>;
    /// Whether a string may end in `state`.
    fn accepting(&self, state: usize) -> bool;
    /// Every transition out of `state` as (characters, next state).
    fn edges(&self, state: usize, out: &mut Vec<(Class, usize)>);
}

/// What searching the product of a glob and a language found.
pub struct Search {
    /// A string of the language the glob matches, if any (empty unless asked for: then only
    /// its existence counts).
    pub witness: Option<Vec<u8>>,
    /// The longest glob prefix some string of the language can follow.
    pub furthest: usize,
    /// The language's states after that prefix.
    pub states_at_furthest: Vec<usize>,
}

/// How the search reached a product state: `Start`, or from a state by a character (`None`:
/// a `*` matching nothing).
#[derive(Debug, Clone, Copy)]
enum Reached {
    Start,
    From(usize, Option<u8>),
}

/// Search the product breadth-first. Visited product states are a bit set; how each was
/// reached is kept only when a witness is wanted.
pub fn search(glob: &TokenGlob, language: &dyn Automaton, want_witness: bool) -> Search {
    let size = language.size();
    let total = (glob.tokens.len() + 1) * size;
    let mut visited = vec![0u64; total.div_ceil(64)];
    let mut parent: HashMap<usize, Reached> = HashMap::new();
    let mut first_visit = |index: usize, reached: Reached| -> bool {
        let (word, bit) = (index / 64, 1u64 << (index % 64));
        match visited.get_mut(word) {
            Some(bits) if *bits & bit == 0 => {
                *bits |= bit;
                if want_witness {
                    parent.insert(index, reached);
                }
                true
            }
            _ => false,
        }
    };
    let mut queue = VecDeque::new();
    for start in language.starts() {
        if first_visit(start, Reached::Start) {
            queue.push_back(start);
        }
    }
    let mut furthest = 0;
    let mut states_at_furthest = Vec::new();
    let mut edges = Vec::new();
    let mut next: Vec<(usize, usize, Option<u8>)> = Vec::new();
    while let Some(index) = queue.pop_front() {
        let (position, state) = (index / size, index % size);
        if position > furthest {
            furthest = position;
            states_at_furthest.clear();
        }
        if position == furthest {
            states_at_furthest.push(state);
        }
        edges.clear();
        language.edges(state, &mut edges);
        next.clear();
        match glob.tokens.get(position) {
            None => {
                if language.accepting(state) {
                    return Search {
                        witness: Some(trace(&parent, index)),
                        furthest,
                        states_at_furthest,
                    };
                }
            }
            Some(Token::Any) => {
                next.push((position + 1, state, None));
                next.extend(
                    edges
                        .iter()
                        .map(|(class, to)| (position, *to, Some(representative(*class)))),
                );
            }
            Some(Token::One) => next.extend(
                edges
                    .iter()
                    .map(|(class, to)| (position + 1, *to, Some(representative(*class)))),
            ),
            Some(Token::Byte(byte)) => next.extend(
                edges
                    .iter()
                    .filter(|(class, _)| contains(*class, *byte))
                    .map(|(_, to)| (position + 1, *to, Some(*byte))),
            ),
        }
        for (position, state, byte) in next.drain(..) {
            let target = position * size + state;
            if first_visit(target, Reached::From(index, byte)) {
                queue.push_back(target);
            }
        }
    }
    Search {
        witness: None,
        furthest,
        states_at_furthest,
    }
}

fn trace(parent: &HashMap<usize, Reached>, mut index: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(Reached::From(previous, byte)) = parent.get(&index) {
        out.extend(byte);
        index = *previous;
    }
    out.reverse();
    out
}

/// Which part of a reference a grammar state belongs to, to say why a glob is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    /// The registry host.
    Registry,
    /// The registry port.
    Port,
    /// The repository path.
    Repository,
    /// The tag.
    Tag,
    /// The digest.
    Digest,
    /// A namespace name.
    Namespace,
}

impl Part {
    fn rule(self) -> &'static str {
        match self {
            Part::Registry => {
                "a registry host is lower-case letters, digits, '-' and '.' (an IPv4 address as a dotted quad, IPv6 in brackets)"
            }
            Part::Port => {
                "a registry port is a number without leading zeros, and never :443 (the default, left out)"
            }
            Part::Repository => {
                "a repository path is lower-case letters and digits, components separated by '/' and joined by '.', '_', '__' or dashes"
            }
            Part::Tag => {
                "a tag (after ':') is letters, digits, '_', '.' and '-', not starting with '.' or '-'"
            }
            Part::Digest => {
                "a digest (after '@') is sha256: and 64 lower-case hex digits, or sha512: and 128"
            }
            Part::Namespace => {
                "a namespace is a DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit"
            }
        }
    }
}

/// A nondeterministic automaton built state by state.
#[derive(Default)]
pub struct Grammar {
    edges: Vec<Vec<(Class, usize)>>,
    accept: Vec<bool>,
    parts: Vec<Part>,
    starts: Vec<usize>,
}

impl Grammar {
    fn add(&mut self, part: Part) -> usize {
        self.edges.push(Vec::new());
        self.accept.push(false);
        self.parts.push(part);
        self.edges.len() - 1
    }

    fn edge(&mut self, from: usize, class: Class, to: usize) {
        if let Some(edges) = self.edges.get_mut(from) {
            edges.push((class, to));
        }
    }

    fn accepting_state(&mut self, state: usize) {
        if let Some(flag) = self.accept.get_mut(state) {
            *flag = true;
        }
    }

    fn part(&self, state: usize) -> Option<Part> {
        self.parts.get(state).copied()
    }
}

impl Automaton for Grammar {
    fn size(&self) -> usize {
        self.edges.len()
    }
    fn starts(&self) -> Vec<usize> {
        self.starts.clone()
    }
    fn accepting(&self, state: usize) -> bool {
        self.accept.get(state).copied().unwrap_or(false)
    }
    fn edges(&self, state: usize, out: &mut Vec<(Class, usize)>) {
        out.extend(self.edges.get(state).into_iter().flatten().copied());
    }
}

/// Which texts a glob is meant to match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Rule `image`/`images`: any accepted written form of a canonical reference (Docker Hub
    /// short names and aliases, tag and digest optional, a tag beside a digest).
    RuleImage,
    /// `skipImages`: only canonical forms, `registry/repository:tag` or `…@digest`.
    SkipImage,
    /// `namespaces` and `excludeNamespaces`: namespace names.
    Namespace,
}

impl Language {
    fn grammar(self) -> &'static Grammar {
        static RULE: OnceLock<Grammar> = OnceLock::new();
        static SKIP: OnceLock<Grammar> = OnceLock::new();
        static NAMESPACE: OnceLock<Grammar> = OnceLock::new();
        match self {
            Language::RuleImage => RULE.get_or_init(|| image_grammar(false, Tags::Written)),
            Language::SkipImage => SKIP.get_or_init(|| image_grammar(true, Tags::Alone)),
            Language::Namespace => NAMESPACE.get_or_init(namespace_grammar),
        }
    }
}

/// Where a reference grammar lets a tag be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tags {
    /// Alone or beside a digest: every written form (refusals are explained from it).
    Written,
    /// Alone, never beside a digest: what rule globs meet, since the tag beside a digest is left
    /// out of the texts a reference is matched by (`ImageReference::subjects`).
    Alone,
    /// Nowhere: what the digest form of a rule glob (`digest_form`) meets.
    Never,
}

/// The texts a rule glob is matched against: [`Tags::Alone`], and for its digest form
/// [`Tags::Never`]. The written language ([`Language::RuleImage`]) is wider by the tag beside
/// a digest, which no rule glob is ever matched against.
fn rule_grammars() -> (&'static Grammar, &'static Grammar) {
    static MATCHED: OnceLock<Grammar> = OnceLock::new();
    static DIGEST_FORM: OnceLock<Grammar> = OnceLock::new();
    (
        MATCHED.get_or_init(|| image_grammar(false, Tags::Alone)),
        DIGEST_FORM.get_or_init(|| image_grammar(false, Tags::Never)),
    )
}

/// The reference grammar of the distribution project, restricted to canonical registries.
/// `strict`: canonical forms only (a registry is written; a tag or a digest, not both).
fn image_grammar(strict: bool, tags: Tags) -> Grammar {
    let mut g = Grammar::default();
    use Part::*;
    // Repository path: [a-z0-9]+ (([._]|__|-+) [a-z0-9]+)* per component.
    let path = g.add(Repository);
    // Tag and digest.
    let tag = g.add(Tag);
    let tag_rest = g.add(Tag);
    let digest = g.add(Digest);
    let digest_prefix: Vec<usize> = (0..3).map(|_| g.add(Digest)).collect();
    let sha256: Vec<usize> = (0..3).map(|_| g.add(Digest)).collect();
    let sha512: Vec<usize> = (0..3).map(|_| g.add(Digest)).collect();
    let hex64: Vec<usize> = (0..=64).map(|_| g.add(Digest)).collect();
    let hex128: Vec<usize> = (0..=128).map(|_| g.add(Digest)).collect();
    // Port: 1 to 5 digits, no leading zero, not 443. `digits[k]`: k digits read, not "4", "44"
    // or "443".
    let port = g.add(Port);
    let (p4, p44, p443) = (g.add(Port), g.add(Port), g.add(Port));
    let digits: Vec<usize> = (0..=5).map(|_| g.add(Port)).collect();

    let component_end = |g: &mut Grammar, from: usize| {
        if tags != Tags::Never {
            g.edge(from, one(b':'), tag);
        }
        g.edge(from, one(b'@'), digest);
        if !strict {
            g.accepting_state(from);
        }
    };
    // The rest of a component after its first character: [a-z0-9] runs joined by '.', '_',
    // '__' or dashes, then the end of the reference, a tag or a digest, or (`then`) more.
    // Returns the state inside a run and the one after a separator.
    let component_rest = |g: &mut Grammar, then: Option<(Class, usize)>| {
        let [inside, separated, underscore, dashes] = [(); 4].map(|_| g.add(Repository));
        g.edge(inside, ALNUM, inside);
        g.edge(inside, one(b'.'), separated);
        g.edge(inside, one(b'_'), underscore);
        g.edge(inside, one(b'-'), dashes);
        if let Some((class, next)) = then {
            g.edge(inside, class, next);
        }
        component_end(g, inside);
        g.edge(separated, ALNUM, inside);
        g.edge(underscore, one(b'_'), separated);
        g.edge(underscore, ALNUM, inside);
        g.edge(dashes, one(b'-'), dashes);
        g.edge(dashes, ALNUM, inside);
        (inside, separated)
    };
    let (component, _) = component_rest(&mut g, Some((one(b'/'), path)));
    g.edge(path, ALNUM, component);

    g.edge(tag, WORD, tag_rest);
    g.edge(tag_rest, TAG_REST, tag_rest);
    if tags == Tags::Written {
        g.edge(tag_rest, one(b'@'), digest);
    }
    g.accepting_state(tag_rest);

    let chain = |g: &mut Grammar, from: usize, text: &[u8], states: &[usize]| {
        let mut at = from;
        for (byte, next) in text.iter().zip(states) {
            g.edge(at, one(*byte), *next);
            at = *next;
        }
        at
    };
    let sha = chain(&mut g, digest, b"sha", &digest_prefix);
    let colon256 = chain(&mut g, sha, b"256", &sha256);
    let colon512 = chain(&mut g, sha, b"512", &sha512);
    for (colon, hex) in [(colon256, &hex64), (colon512, &hex128)] {
        if let Some(first) = hex.first() {
            g.edge(colon, one(b':'), *first);
        }
        for pair in hex.windows(2) {
            if let [from, to] = pair {
                g.edge(*from, HEX, *to);
            }
        }
        if let Some(last) = hex.last() {
            g.accepting_state(*last);
        }
    }

    g.edge(port, one(b'4'), p4);
    g.edge(port, range(b'1', b'9') & !one(b'4'), digits_at(&digits, 1));
    g.edge(p4, one(b'4'), p44);
    g.edge(p4, DIGIT & !one(b'4'), digits_at(&digits, 2));
    g.edge(p44, one(b'3'), p443);
    g.edge(p44, DIGIT & !one(b'3'), digits_at(&digits, 3));
    g.edge(p443, DIGIT, digits_at(&digits, 4));
    for pair in digits.windows(2).skip(1) {
        if let [from, to] = pair {
            g.edge(*from, DIGIT, *to);
        }
    }
    for end in [p4, p44].iter().chain(digits.iter().skip(1)) {
        g.edge(*end, one(b'/'), path);
    }

    // Registry host. DNS names: labels of [a-z0-9-] not starting or ending with '-'; the last
    // label starts with a letter (a numeric last label is an address). `dotted` tracks whether
    // a '.' was seen: without one (or a port, or `localhost`) the first component is not a
    // registry, which only the liberal language accepts as a Docker Hub path.
    let host_end = |g: &mut Grammar, from: usize, as_registry: bool| {
        g.edge(from, one(b':'), port);
        if as_registry || !strict {
            g.edge(from, one(b'/'), path);
        }
    };
    let first_label = g.add(Registry);
    let next_label = g.add(Registry);
    for (start, dotted) in [(first_label, false), (next_label, true)] {
        let [alpha, alpha_dash, numeric, numeric_dash] = [(); 4].map(|_| g.add(Registry));
        g.edge(start, LOWER, alpha);
        g.edge(start, DIGIT, numeric);
        for (inside, dash) in [(alpha, alpha_dash), (numeric, numeric_dash)] {
            g.edge(inside, ALNUM, inside);
            g.edge(inside, one(b'-'), dash);
            g.edge(inside, one(b'.'), next_label);
            g.edge(dash, one(b'-'), dash);
            g.edge(dash, ALNUM, inside);
        }
        host_end(&mut g, alpha, dotted);
    }
    let localhost: Vec<usize> = (0..9).map(|_| g.add(Registry)).collect();
    let localhost_start = g.add(Registry);
    let localhost_end = chain(&mut g, localhost_start, b"localhost", &localhost);
    host_end(&mut g, localhost_end, true);
    // IPv4: four octets 0-255 without leading zeros.
    let mut octet_start = g.add(Registry);
    let ipv4_start = octet_start;
    for index in 0..4 {
        let [zero, one_, one_d, two, two_low, two_five, small, full] =
            [(); 8].map(|_| g.add(Registry));
        g.edge(octet_start, one(b'0'), zero);
        g.edge(octet_start, one(b'1'), one_);
        g.edge(octet_start, one(b'2'), two);
        g.edge(octet_start, range(b'3', b'9'), small);
        g.edge(one_, DIGIT, one_d);
        g.edge(one_d, DIGIT, full);
        g.edge(two, range(b'0', b'4'), two_low);
        g.edge(two, one(b'5'), two_five);
        g.edge(two, range(b'6', b'9'), full);
        g.edge(two_low, DIGIT, full);
        g.edge(two_five, range(b'0', b'5'), full);
        g.edge(small, DIGIT, full);
        let ends = [zero, one_, one_d, two, two_low, two_five, small, full];
        if index < 3 {
            let next = g.add(Registry);
            for end in ends {
                g.edge(end, one(b'.'), next);
            }
            octet_start = next;
        } else {
            for end in ends {
                host_end(&mut g, end, true);
            }
        }
    }
    // IPv6 in brackets (literal hosts are checked exactly, see `check`).
    let bracket = g.add(Registry);
    let ipv6 = g.add(Registry);
    let ipv6_end = g.add(Registry);
    g.edge(bracket, one(b'['), ipv6);
    g.edge(ipv6, HEX | one(b':'), ipv6);
    g.edge(ipv6, one(b']'), ipv6_end);
    host_end(&mut g, ipv6_end, true);

    g.starts = vec![first_label, localhost_start, ipv4_start, bracket];
    if !strict {
        // No registry: a Docker Hub path, whose first component has no '.' (that would make it
        // a registry).
        let [first, inside, underscore_first, joined, dash_first] =
            [(); 5].map(|_| g.add(Repository));
        g.edge(first, ALNUM, inside);
        g.edge(inside, ALNUM, inside);
        g.edge(inside, one(b'_'), underscore_first);
        g.edge(inside, one(b'-'), dash_first);
        g.edge(inside, one(b'/'), path);
        component_end(&mut g, inside);
        g.edge(underscore_first, one(b'_'), joined);
        g.edge(underscore_first, ALNUM, inside);
        g.edge(joined, ALNUM, inside);
        g.edge(dash_first, one(b'-'), dash_first);
        g.edge(dash_first, ALNUM, inside);
        // …unless it is the only component (`127.0.0.1` alone is docker.io/library/127.0.0.1):
        // after a '.', no '/' may follow.
        let (_, alone_separated) = component_rest(&mut g, None);
        g.edge(inside, one(b'.'), alone_separated);
        g.starts.push(first);
    }
    g
}

fn digits_at(digits: &[usize], count: usize) -> usize {
    digits.get(count).copied().unwrap_or_default()
}

/// DNS-1123 label, at most 63 characters.
fn namespace_grammar() -> Grammar {
    const MAX: usize = 63;
    let mut g = Grammar::default();
    let start = g.add(Part::Namespace);
    // `ends[k]`: k characters read, the last a letter or digit; `dashes[k]`: the last a '-'.
    let ends: Vec<usize> = (0..=MAX).map(|_| g.add(Part::Namespace)).collect();
    let dashes: Vec<usize> = (0..=MAX).map(|_| g.add(Part::Namespace)).collect();
    if let Some(first) = ends.get(1) {
        g.edge(start, ALNUM, *first);
    }
    for length in 1..MAX {
        let (Some(end), Some(dash), Some(next_end), Some(next_dash)) = (
            ends.get(length),
            dashes.get(length),
            ends.get(length + 1),
            dashes.get(length + 1),
        ) else {
            continue;
        };
        g.edge(*end, ALNUM, *next_end);
        g.edge(*end, one(b'-'), *next_dash);
        g.edge(*dash, ALNUM, *next_end);
        g.edge(*dash, one(b'-'), *next_dash);
    }
    for end in ends.iter().skip(1) {
        g.accepting_state(*end);
    }
    g.starts = vec![start];
    g
}

/// Why a glob can match nothing, and the glob to write instead when one is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Why nothing can match.
    pub reason: String,
    /// A glob that would match what was probably meant.
    pub fix: Option<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.reason)?;
        match &self.fix {
            Some(fix) => write!(f, " — write {fix:?}"),
            None => Ok(()),
        }
    }
}

/// A string of `language` that `pattern` matches, if there is one (the proof that a pattern
/// accepted at validation can match something).
pub fn witness(pattern: &str, language: Language) -> Option<String> {
    let found = match language {
        Language::RuleImage => rule_witness(pattern, true),
        _ => search(&TokenGlob::new(pattern), language.grammar(), true).witness,
    };
    found.and_then(|bytes| String::from_utf8(bytes).ok())
}

/// A text the rule matcher meets with `pattern`: a reference's matched form, or a
/// digest-pinned one met through the pattern's digest form.
fn rule_witness(pattern: &str, want_witness: bool) -> Option<Vec<u8>> {
    let (matched, digest_grammar) = rule_grammars();
    if let Some(found) = search(&TokenGlob::new(pattern), matched, want_witness).witness {
        return Some(found);
    }
    let digest_form = digest_form(pattern)?;
    let mut found = search(&TokenGlob::new(&digest_form), digest_grammar, want_witness).witness?;
    // The digest form is met only by digest-pinned references: pin a bare name.
    if want_witness && !found.contains(&b'@') {
        found.extend_from_slice(b"@sha256:");
        found.extend(std::iter::repeat_n(b'0', 64));
    }
    Some(found)
}

/// A rule glob as it applies to a digest-pinned reference: its tag constraint (from the `:` in
/// its last path part up to `@` or the end) removed. The tag written beside a digest does not
/// decide what runs, so the digest form of `ghcr.io/org/app:v1` is `ghcr.io/org/app`, and of
/// `*:v1@sha256:*` it is `*@sha256:*`. `None`: the glob has no tag constraint.
pub fn digest_form(glob: &str) -> Option<String> {
    let last_part = glob.rfind('/').map_or(0, |slash| slash + 1);
    let tail = glob.get(last_part..)?;
    let name_and_tag = tail.split('@').next().unwrap_or_default();
    let colon = last_part + name_and_tag.find(':')?;
    let tag_end = last_part + name_and_tag.len();
    Some(format!(
        "{}{}",
        glob.get(..colon)?,
        glob.get(tag_end..).unwrap_or_default()
    ))
}

/// Globs already accepted. Kubewarden hands the settings to every `validate` call and keeps
/// the module instance between calls, so the same globs are checked again and again; the check
/// is a pure function of (glob, language), so accepted ones are remembered (bounded).
static ACCEPTED: Mutex<BTreeSet<(u8, String)>> = Mutex::new(BTreeSet::new());
const MAX_REMEMBERED: usize = 16_384;

/// Settings validation of one glob: `Ok` when it can match a valid name of `language`.
pub fn check(pattern: &str, language: Language) -> Result<(), Refusal> {
    let key = (language as u8, pattern.to_string());
    if let Ok(accepted) = ACCEPTED.lock()
        && accepted.contains(&key)
    {
        return Ok(());
    }
    check_uncached(pattern, language)?;
    if let Ok(mut accepted) = ACCEPTED.lock() {
        if accepted.len() >= MAX_REMEMBERED {
            accepted.clear();
        }
        accepted.insert(key);
    }
    Ok(())
}

fn check_uncached(pattern: &str, language: Language) -> Result<(), Refusal> {
    let found = match literal_registry_problem(pattern, language) {
        Some(refusal) => Err(refusal),
        None => explain(pattern, language),
    };
    let Err(mut refusal) = found else {
        return Ok(());
    };
    if refusal.fix.is_none() {
        let (repaired, notes) = repair(pattern, language);
        if repaired != pattern && check_uncached(&repaired, language).is_ok() {
            for note in notes {
                refusal.reason.push_str("; ");
                refusal.reason.push_str(note);
            }
            refusal.fix = Some(repaired);
        }
    }
    Err(refusal)
}

/// A registry written without wildcards must be written as images are matched: canonical
/// (Docker Hub aliases too, for rules). Exact, where the grammar automaton approximates
/// (IPv6 literals, IPv4 shorthands, ports above 65535).
fn literal_registry_problem(pattern: &str, language: Language) -> Option<Refusal> {
    if language == Language::Namespace {
        return None;
    }
    let (host, rest) = pattern.split_once('/')?;
    let registry_like = host.contains(['.', ':']) || host.eq_ignore_ascii_case("localhost");
    if !registry_like || host.contains(['*', '?']) || host.trim() != host {
        return None;
    }
    let rewrite = |canonical: &str| format!("{canonical}/{rest}");
    match canonical_registry(host) {
        Err(ReferenceError::NonCanonicalHost {
            read, canonical, ..
        }) => Some(Refusal {
            reason: format!(
                "resolvers read the registry host {host:?} as {read}, and images are matched only with their canonical registry"
            ),
            fix: Some(rewrite(&canonical)),
        }),
        Err(error) => Some(Refusal {
            reason: error.to_string(),
            fix: None,
        }),
        Ok(canonical) if canonical == host => None,
        Ok(_) if language == Language::RuleImage && DOCKER_HUB_ALIASES.contains(&host) => None,
        Ok(canonical) => {
            let why = if host.to_ascii_lowercase() != host {
                "registry hosts are lower case"
            } else if canonical == DOCKER_HUB {
                "skipImages match the canonical form only, where Docker Hub is docker.io"
            } else if host.ends_with(":443") {
                ":443 is the default port, left out of the canonical form"
            } else {
                "images are matched only with their canonical registry"
            };
            Some(Refusal {
                reason: format!("{why} ({host:?} is {canonical})"),
                fix: Some(rewrite(&canonical)),
            })
        }
    }
}

/// Runs the grammar and, when nothing matches, says where the glob leaves the grammar.
fn explain(pattern: &str, language: Language) -> Result<(), Refusal> {
    let grammar = language.grammar();
    let glob = TokenGlob::new(pattern);
    let found = search(&glob, grammar, false);
    if found.witness.is_some() {
        if language != Language::RuleImage || rule_witness(pattern, false).is_some() {
            return Ok(());
        }
        return Err(Refusal {
            reason: "the pattern meets only references with a tag beside a digest, and such a reference is matched without its tag (the digest decides what runs)".to_string(),
            fix: None,
        });
    }
    // A set, not a sorted vector: same order, no sort instantiation in the module.
    let mut parts: BTreeSet<Part> = BTreeSet::new();
    parts.extend(
        found
            .states_at_furthest
            .iter()
            .filter_map(|state| grammar.part(*state)),
    );
    let rules: Vec<&str> = parts.iter().map(|part| part.rule()).collect();
    let reason = match pattern.as_bytes().get(found.furthest) {
        None => format!(
            "the pattern ends before a complete name; {}",
            rules.join("; ")
        ),
        Some(byte) => {
            let shown = pattern
                .get(found.furthest..)
                .and_then(|tail| tail.chars().next())
                .unwrap_or(char::from(*byte));
            let mut reason = format!(
                "{shown:?} (character {}) cannot appear there: {}",
                pattern
                    .get(..found.furthest)
                    .map_or(found.furthest, |head| head.chars().count())
                    + 1,
                rules.join("; ")
            );
            if byte.is_ascii_uppercase() {
                reason.push_str(" (upper case)");
            }
            reason
        }
    };
    Err(Refusal { reason, fix: None })
}

/// Rewrites that turn common misspellings into globs of the language, each with the reason it
/// applies. Only suggestions: the refusal itself comes from the grammar.
fn repair(pattern: &str, language: Language) -> (String, Vec<&'static str>) {
    let mut notes = Vec::new();
    let mut text = pattern.to_string();
    let mut step = |text: &mut String, next: String, note: &'static str| {
        if next != *text {
            *text = next;
            notes.push(note);
        }
    };
    step(
        &mut text,
        pattern.trim().to_string(),
        "patterns are matched whole: leading or trailing whitespace matches nothing",
    );
    if language == Language::Namespace {
        let lower = text.to_ascii_lowercase();
        step(&mut text, lower, "namespace names are lower case");
        return (text, notes);
    }
    let unschemed = match text.split_once("://") {
        Some((scheme, rest)) if scheme.bytes().all(|b| b.is_ascii_alphabetic()) => rest.to_string(),
        _ => text.clone(),
    };
    step(
        &mut text,
        unschemed,
        "image references have no scheme (https://, docker://)",
    );
    let unregexed = text
        .trim_start_matches('^')
        .trim_end_matches('$')
        .replace(".*", "*")
        .replace(".+", "*")
        .replace("\\.", ".");
    step(
        &mut text,
        unregexed,
        "globs use * and ?, not regular expressions",
    );
    let mut classless = String::new();
    let mut rest = text.as_str();
    while let Some((head, tail)) = rest.split_once('[') {
        classless.push_str(head);
        match tail.split_once(']') {
            Some((class, after)) if !head.is_empty() || class.contains(['-', '^']) => {
                classless.push('?');
                rest = after;
            }
            _ => {
                classless.push('[');
                rest = tail;
            }
        }
    }
    classless.push_str(rest);
    step(
        &mut text,
        classless,
        "globs have no character classes: ? is any one character",
    );
    // Lower-case everything before the tag (tags may hold upper case).
    let name_end = text
        .rfind(':')
        .filter(|colon| !text.get(*colon..).unwrap_or_default().contains('/'))
        .unwrap_or(text.len());
    let lowered = format!(
        "{}{}",
        text.get(..name_end)
            .unwrap_or_default()
            .to_ascii_lowercase(),
        text.get(name_end..).unwrap_or_default()
    );
    step(
        &mut text,
        lowered,
        "registry hosts and repository paths are lower case",
    );
    if language == Language::SkipImage && !text.contains('/') {
        let full = format!("{DOCKER_HUB}/library/{text}");
        step(
            &mut text,
            full,
            "skipImages match the canonical form only, where Docker Hub images are written in full",
        );
    }
    (text, notes)
}
