//! JSON settings → typed `Settings`, field by field, so that every refusal names its field.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::tree::{Node, Object};

use super::exemptions::parse_exemptions;
use super::pem_check::{check_certificate, der_of};
use super::vocabulary::{UI_KEYS, is_empty_default, near_miss};
use super::{Check, CheckKind, Mode, Rule, Settings, SettingsError};
use crate::pattern::{Language, check as check_pattern};

const TOP_LEVEL_KEYS: [&str; 8] = [
    "signatures",
    "bindKeyless",
    "keylessTrustRoot",
    "modifyImagesWithDigest",
    "requireDigest",
    "pinWorkloads",
    "reverifyUnchangedImages",
    "exemptions",
];
const COMMON_RULE_KEYS: [&str; 8] = [
    "image",
    "images",
    "skipImages",
    "namespaces",
    "excludeNamespaces",
    "mode",
    "requireDigest",
    "annotations",
];
const CERTIFICATE_ONLY_KEYS: [&str; 2] = ["certificateChain", "requireRekorBundle"];
const THRESHOLD_KEY: &str = "threshold";

/// How much of the settings a parse checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scrutiny {
    /// `validate_settings`: every check, structure and content (PEM material, globs that can
    /// match nothing, regular expressions, distinct signers).
    Full,
    /// `validate`: the engine calls it only with settings `validate_settings` accepted (a
    /// policy with refused settings is never loaded), so the content checks are not made again
    /// on every admission: structure is parsed, key and certificate material is kept as text
    /// for the host, which refuses what is not a key or a certificate (a rejection, never an
    /// acceptance).
    Admission,
}

/// Settings as `validate_settings` judges them: every structural and content check.
pub fn parse_settings_tree(node: &Node<'_>) -> Result<Settings, SettingsError> {
    parse(node, Scrutiny::Full)
}

/// [`parse_settings_tree`] for a caller that holds the settings as a `serde_json::Value`.
pub fn parse_settings(value: &serde_json::Value) -> Result<Settings, SettingsError> {
    parse(&Node::of_value(value), Scrutiny::Full)
}

/// Settings as `validate` reads them on every admission: structure only (see
/// [`Scrutiny::Admission`]). Same `Settings` as [`parse_settings_tree`] for settings it accepts.
pub fn parse_admitted_settings(node: &Node<'_>) -> Result<Settings, SettingsError> {
    parse(node, Scrutiny::Admission)
}

fn parse(value: &Node<'_>, scrutiny: Scrutiny) -> Result<Settings, SettingsError> {
    let empty = Object::default();
    let top = match value {
        Node::Null => &empty,
        Node::Object(map) => map,
        _ => {
            return Err(SettingsError::top("settings", "must be an object"));
        }
    };
    refuse_misspelled_top_level(top)?;
    let flag = |key: &str, default: bool| match top.get(key) {
        None | Some(Node::Null) => Ok(default),
        Some(Node::Bool(b)) => Ok(*b),
        Some(_) => Err(SettingsError::top(key, "must be true or false")),
    };
    let modify_images_with_digest = flag("modifyImagesWithDigest", true)?;
    let require_digest = flag("requireDigest", false)?;
    let pin_workloads = flag("pinWorkloads", true)?;
    let reverify_unchanged_images = flag("reverifyUnchangedImages", true)?;
    let exemptions = parse_exemptions(top.get("exemptions"))?;
    let bind_keyless = flag("bindKeyless", true)?;
    let fulcio_chain = parse_fulcio_chain(top.get("keylessTrustRoot"), scrutiny)?;
    let rules = parse_rules(top.get("signatures"), scrutiny, require_digest)?;
    refuse_unbindable_annotations(&rules, bind_keyless)?;
    Ok(Settings {
        modify_images_with_digest,
        pin_workloads,
        reverify_unchanged_images,
        exemptions,
        bind_keyless,
        fulcio_chain,
        rules,
    })
}

/// The `signatures` list: at least one rule, each parsed.
fn parse_rules(
    value: Option<&Node<'_>>,
    scrutiny: Scrutiny,
    require_digest: bool,
) -> Result<Vec<Rule>, SettingsError> {
    let rules: Vec<&Node<'_>> = match value {
        None | Some(Node::Null) => Vec::new(),
        Some(Node::Array(items)) => items.iter().collect(),
        Some(_) => return Err(SettingsError::top("signatures", "must be a list of rules")),
    };
    if rules.is_empty() {
        return Err(SettingsError::top("signatures", "must not be empty"));
    }
    rules
        .into_iter()
        .enumerate()
        .map(|(index, rule)| RuleFields::new(index, rule, scrutiny)?.parse(require_digest))
        .collect()
}

/// Unknown top-level keys are ignored as upstream does, unless they misspell a known one.
fn refuse_misspelled_top_level(top: &Object<'_>) -> Result<(), SettingsError> {
    for key in top.keys().filter(|k| !UI_KEYS.contains(k)) {
        if let Some(known) = near_miss(key, &TOP_LEVEL_KEYS) {
            return Err(SettingsError::top(
                key,
                format!("unknown setting; did you mean \"{known}\"?"),
            ));
        }
    }
    Ok(())
}

/// Every key a rule object can hold, whatever its kind.
fn rule_keys() -> Vec<&'static str> {
    let mut keys: Vec<&str> = COMMON_RULE_KEYS.to_vec();
    keys.extend(CheckKind::ALL.iter().map(|kind| kind.key()));
    keys.extend(CERTIFICATE_ONLY_KEYS);
    keys.push(THRESHOLD_KEY);
    keys
}

const FULCIO_CHAIN: &str = "keylessTrustRoot.fulcioChain";

/// `None`: the built-in public-good chain (see `public_good`), decoded only when a keyless
/// proof needs it.
fn parse_fulcio_chain(
    value: Option<&Node<'_>>,
    scrutiny: Scrutiny,
) -> Result<Option<Vec<String>>, SettingsError> {
    let Some(chain) = fulcio_chain_texts(value)? else {
        return Ok(None);
    };
    if scrutiny == Scrutiny::Full {
        for (i, certificate) in chain.iter().enumerate() {
            check_certificate(certificate).map_err(|problem| {
                SettingsError::top(
                    &format!("{FULCIO_CHAIN}[{i}]"),
                    format!("not a PEM certificate: {problem}"),
                )
            })?;
        }
    }
    Ok(Some(chain))
}

/// The texts of `keylessTrustRoot.fulcioChain`, structure checked only.
fn fulcio_chain_texts(value: Option<&Node<'_>>) -> Result<Option<Vec<String>>, SettingsError> {
    // A form field left blank (`keylessTrustRoot: {fulcioChain: null}` from the Rancher UI) is
    // the default; an explicitly empty chain stays refused.
    let value = value.filter(|v| !matches!(v, Node::Object(m) if m.values().all(Node::is_null)));
    let root = match value {
        None | Some(Node::Null) => return Ok(None),
        Some(Node::Object(root)) => root,
        Some(_) => {
            return Err(SettingsError::top(
                "keylessTrustRoot",
                "must be an object with fulcioChain",
            ));
        }
    };
    if let Some(unknown) = root.keys().find(|k| *k != "fulcioChain") {
        return Err(SettingsError::top(
            &format!("keylessTrustRoot.{unknown}"),
            "unknown field; expected fulcioChain",
        ));
    }
    match root.get("fulcioChain") {
        Some(Node::Array(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Node::String(s) => Ok(s.to_string()),
                _ => Err(SettingsError::top(
                    &format!("{FULCIO_CHAIN}[{i}]"),
                    "must be a string",
                )),
            })
            .collect::<Result<_, _>>()
            .map(Some),
        _ => Err(SettingsError::top(
            FULCIO_CHAIN,
            "must be a non-empty list of PEM certificates",
        )),
    }
}

/// Signer annotations are honoured only where the host checks them on the verified signature's
/// own layer: the public-key variant does (`PublicKeyAndAnnotationsVerifier`). The certificate
/// variant checks them as a separate constraint that any layer may satisfy (protocol doc §4.6
/// point 3), so an unsigned layer carrying them would do: refused on `certificates` rules
/// always, and on keyless rules while binding is on (their binding is made of certificate
/// verifications). With `bindKeyless: false` keyless rules keep the engine's meaning.
fn refuse_unbindable_annotations(rules: &[Rule], bind_keyless: bool) -> Result<(), SettingsError> {
    let unbindable =
        |kind: CheckKind| kind == CheckKind::Certificates || (bind_keyless && kind.is_keyless());
    let offending = rules.iter().find(|rule| {
        unbindable(rule.check.kind()) && rule.annotations.as_ref().is_some_and(|a| !a.is_empty())
    });
    let Some(rule) = offending else {
        return Ok(());
    };
    let problem = match rule.check.kind() {
        CheckKind::Certificates => {
            "cannot be bound to the certificate's signature on a Kubewarden host (the host accepts them from any signature layer, including an unsigned one an attacker adds); remove them"
        }
        _ => {
            "cannot be bound to the keyless signer on a Kubewarden host (the host checks annotations on any signature layer); remove them or set bindKeyless: false"
        }
    };
    Err(SettingsError {
        rule: Some(rule.index),
        kind: Some(rule.check.kind()),
        field: Some("annotations".into()),
        problem: problem.into(),
    })
}

/// A list entry of a rule with its field path, e.g. `keyless[1]`.
type NamedEntry<'a> = (String, &'a Object<'a>);

/// One rule's JSON object plus what is known about it so far, for precise messages. The kinds
/// (`kinds/`) read their own fields through it.
pub(super) struct RuleFields<'a> {
    index: usize,
    kind: Option<CheckKind>,
    object: &'a Object<'a>,
    scrutiny: Scrutiny,
    /// DER bodies of the rule's PEM texts decoded by [`Self::check_pems`], by text, so that
    /// comparing signers does not decode them again (PEM decoding is most of the cost of
    /// `validate_settings`).
    ders: RefCell<Vec<(String, Vec<u8>)>>,
}

impl<'a> RuleFields<'a> {
    fn new(index: usize, value: &'a Node<'a>, scrutiny: Scrutiny) -> Result<Self, SettingsError> {
        let Node::Object(object) = value else {
            return Err(SettingsError {
                rule: Some(index),
                kind: None,
                field: None,
                problem: "must be an object".into(),
            });
        };
        Ok(Self {
            index,
            kind: None,
            object,
            scrutiny,
            ders: RefCell::default(),
        })
    }

    /// The rule's value at `key`.
    pub(super) fn get(&self, key: &str) -> Option<&'a Node<'a>> {
        self.object.get(key)
    }

    /// Whether content is checked (PEM material, expressions), not only structure.
    pub(super) fn checks_content(&self) -> bool {
        self.scrutiny == Scrutiny::Full
    }

    /// A refusal of this rule, at `field` when given.
    pub(super) fn error(&self, field: Option<&str>, problem: impl Into<String>) -> SettingsError {
        SettingsError {
            rule: Some(self.index),
            kind: self.kind,
            field: field.map(str::to_string),
            problem: problem.into(),
        }
    }

    /// The rule's kind: the one kind key holding a value. Kind keys left at an empty form
    /// default (`keyless: []` beside `pubKeys`) are ignored, as upstream ignores them; a single
    /// kind key that is empty is still the kind, so that its own check says what is missing.
    fn select_kind(&self) -> Result<CheckKind, SettingsError> {
        let present: Vec<CheckKind> = CheckKind::ALL
            .into_iter()
            .filter(|kind| self.object.contains_key(kind.key()))
            .collect();
        let filled: Vec<CheckKind> = present
            .iter()
            .copied()
            .filter(|kind| {
                self.object
                    .get(kind.key())
                    .is_some_and(|value| !is_empty_default(value))
            })
            .collect();
        let kinds = if filled.is_empty() { present } else { filled };
        match kinds.as_slice() {
            [kind] => Ok(*kind),
            [] => Err(self.error(
                None,
                format!(
                    "no signature kind: set exactly one of {}",
                    CheckKind::listing(|_| true, None)
                ),
            )),
            many => {
                let names: Vec<&str> = many.iter().map(|k| k.key()).collect();
                Err(self.error(
                    None,
                    format!(
                        "more than one signature kind ({}): set exactly one",
                        names.join(", ")
                    ),
                ))
            }
        }
    }

    fn parse(mut self, require_digest_everywhere: bool) -> Result<Rule, SettingsError> {
        // Misspellings first: `pubkeys` must say "did you mean", not "no signature kind".
        let known = rule_keys();
        for key in self.object.keys() {
            if let Some(meant) = near_miss(key, &known) {
                return Err(self.error(
                    None,
                    format!("unknown field \"{key}\"; did you mean \"{meant}\"?"),
                ));
            }
        }
        let kind = self.select_kind()?;
        self.kind = Some(kind);
        // `certificateChain` and `requireRekorBundle` on another kind are ignored, as upstream
        // ignores them; `threshold` is this policy's own key and means something only on lists.
        if self.object.contains_key(THRESHOLD_KEY) && !kind.has_signer_list() {
            return Err(self.error(
                Some(THRESHOLD_KEY),
                format!(
                    "only valid on {} rules",
                    CheckKind::listing(CheckKind::has_signer_list, Some("and"))
                ),
            ));
        }
        let images = self.image_globs()?;
        let skip_images = self.optional_globs("skipImages")?.unwrap_or_default();
        let namespaces = self.optional_globs("namespaces")?;
        let exclude_namespaces = self
            .optional_globs("excludeNamespaces")?
            .unwrap_or_default();
        let mode = self.mode()?;
        let require_digest = self.flag("requireDigest")? || require_digest_everywhere;
        let annotations = self.annotations()?;
        let check = Check::parse(kind, &self)?;
        let threshold = self.threshold(check.signer_count())?;
        if self.scrutiny == Scrutiny::Full {
            check
                .check_distinct(threshold, &|pem| self.der_of(pem))
                .map_err(|(field, problem)| self.error(Some(&field), problem))?;
        }
        Ok(Rule {
            index: self.index,
            images,
            skip_images,
            namespaces,
            exclude_namespaces,
            mode,
            require_digest,
            threshold,
            annotations,
            check,
        })
    }

    /// `image` and `images` together; at least one glob, none empty, each able to match some
    /// image.
    fn image_globs(&self) -> Result<Vec<String>, SettingsError> {
        let mut globs = Vec::new();
        if self.object.get("image").is_some_and(|v| !v.is_null())
            || !self.object.contains_key("images")
        {
            let glob = self.required_string("image")?;
            self.check_glob("image", &glob, Language::RuleImage)?;
            globs.push(glob);
        }
        globs.extend(self.optional_globs("images")?.unwrap_or_default());
        Ok(globs)
    }

    /// A glob list: `images` and `skipImages` (image globs) or `namespaces` and
    /// `excludeNamespaces` (namespace globs); none empty, each able to match something.
    fn optional_globs(&self, key: &str) -> Result<Option<Vec<String>>, SettingsError> {
        let language = match key {
            "images" => Language::RuleImage,
            "skipImages" => Language::SkipImage,
            _ => Language::Namespace,
        };
        match self.object.get(key) {
            None | Some(Node::Null) => Ok(None),
            Some(_) => {
                let globs = self.string_list(key)?;
                for (i, glob) in globs.iter().enumerate() {
                    // Named only when needed: `validate` reads every glob on every call.
                    let field = || format!("{key}[{i}]");
                    if glob.trim().is_empty() {
                        return Err(self.error(Some(&field()), "must not be empty"));
                    }
                    if self.checks_content() {
                        self.check_glob(&field(), glob, language)?;
                    }
                }
                Ok(Some(globs))
            }
        }
    }

    /// Refuses a glob that can match no name of its language: such a rule, skip or scope
    /// would silently do nothing.
    fn check_glob(&self, field: &str, glob: &str, language: Language) -> Result<(), SettingsError> {
        if self.scrutiny == Scrutiny::Admission {
            return Ok(());
        }
        let what = match language {
            Language::Namespace => "namespace",
            Language::RuleImage | Language::SkipImage => "image",
        };
        check_pattern(glob, language).map_err(|refusal| {
            self.error(
                Some(field),
                format!("{glob:?} can match no {what}: {refusal}"),
            )
        })
    }

    fn flag(&self, key: &str) -> Result<bool, SettingsError> {
        match self.object.get(key) {
            None | Some(Node::Null) => Ok(false),
            Some(Node::Bool(b)) => Ok(*b),
            Some(_) => Err(self.error(Some(key), "must be true or false")),
        }
    }

    fn mode(&self) -> Result<Mode, SettingsError> {
        match self.object.get("mode") {
            None | Some(Node::Null) => Ok(Mode::Enforce),
            Some(Node::String(s)) if s == "enforce" => Ok(Mode::Enforce),
            Some(Node::String(s)) if s == "warn" => Ok(Mode::Warn),
            Some(_) => Err(self.error(Some("mode"), "must be \"enforce\" or \"warn\"")),
        }
    }

    fn threshold(&self, signers: usize) -> Result<Option<usize>, SettingsError> {
        match self.object.get(THRESHOLD_KEY) {
            None | Some(Node::Null) => Ok(None),
            Some(value) => match value.as_u64().and_then(|n| usize::try_from(n).ok()) {
                Some(n) if (1..=signers).contains(&n) => Ok(Some(n)),
                _ => Err(self.error(
                    Some(THRESHOLD_KEY),
                    format!(
                        "must be a whole number from 1 to {signers} (the number of listed signers)"
                    ),
                )),
            },
        }
    }

    fn required_string(&self, key: &str) -> Result<String, SettingsError> {
        required_string_in(self.object, key).map_err(|problem| self.error(Some(key), problem))
    }

    pub(super) fn string_list(&self, key: &str) -> Result<Vec<String>, SettingsError> {
        let items = self.non_empty_list(key)?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Node::String(s) => Ok(s.to_string()),
                _ => Err(self.error(Some(&format!("{key}[{i}]")), "must be a string")),
            })
            .collect()
    }

    pub(super) fn non_empty_list(&self, key: &str) -> Result<&'a Vec<Node<'a>>, SettingsError> {
        match self.object.get(key) {
            Some(Node::Array(items)) if items.is_empty() => {
                Err(self.error(Some(key), "must not be empty"))
            }
            Some(Node::Array(items)) => Ok(items),
            None | Some(Node::Null) => Err(self.error(Some(key), "must not be empty")),
            Some(_) => Err(self.error(Some(key), "must be a list")),
        }
    }

    fn annotations(&self) -> Result<Option<BTreeMap<String, String>>, SettingsError> {
        match self.object.get("annotations") {
            None | Some(Node::Null) => Ok(None),
            Some(Node::Object(map)) => {
                // Inserted one by one: collecting into a B-tree sorts first, and each sort
                // instantiation weighs kilobytes of the module.
                let mut annotations = BTreeMap::new();
                for (k, v) in map.iter() {
                    let Node::String(s) = v else {
                        return Err(self.error(
                            Some(&format!("annotations.{k}")),
                            "must be a string (quote numbers and booleans)",
                        ));
                    };
                    annotations.insert(k.to_string(), s.to_string());
                }
                Ok(Some(annotations))
            }
            Some(_) => Err(self.error(Some("annotations"), "must be a map of strings")),
        }
    }

    /// Each object of the list at `key`, parsed by `parse_entry` with its field path (e.g.
    /// `keyless[1]`); every entry is checked to be an object before any is parsed.
    pub(super) fn entries<T>(
        &self,
        key: &str,
        parse_entry: impl Fn(&str, &Object<'_>) -> Result<T, SettingsError>,
    ) -> Result<Vec<T>, SettingsError> {
        self.entry_objects(key)?
            .into_iter()
            .map(|(field, entry)| parse_entry(&field, entry))
            .collect()
    }

    /// With content checks on, each of `pems` must pass `check`, which gives its DER body; a
    /// refusal names the item (`key[i]`) and says it is not `what`.
    pub(super) fn check_pems(
        &self,
        key: &str,
        pems: &[String],
        check: fn(&str) -> Result<Vec<u8>, String>,
        what: &str,
    ) -> Result<(), SettingsError> {
        if !self.checks_content() {
            return Ok(());
        }
        for (i, pem) in pems.iter().enumerate() {
            let der = check(pem).map_err(|problem| {
                self.error(
                    Some(&format!("{key}[{i}]")),
                    format!("not {what}: {problem}"),
                )
            })?;
            self.ders.borrow_mut().push((pem.clone(), der));
        }
        Ok(())
    }

    /// The DER body of one of the rule's PEM texts: as [`Self::check_pems`] decoded it, or
    /// decoded now.
    fn der_of(&self, pem: &str) -> Result<Vec<u8>, String> {
        let ders = self.ders.borrow();
        match ders.iter().find(|(text, _)| text == pem) {
            Some((_, der)) => Ok(der.clone()),
            None => der_of(pem),
        }
    }

    fn entry_objects(&self, key: &str) -> Result<Vec<NamedEntry<'a>>, SettingsError> {
        self.non_empty_list(key)?
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let field = format!("{key}[{i}]");
                match item {
                    Node::Object(map) => Ok((field, map)),
                    _ => Err(self.error(Some(&field), "must be an object")),
                }
            })
            .collect()
    }

    pub(super) fn entry_field(
        &self,
        entry: &Object<'_>,
        field: &str,
        key: &str,
    ) -> Result<String, SettingsError> {
        required_string_in(entry, key)
            .map_err(|problem| self.error(Some(&format!("{field}.{key}")), problem))
    }

    /// In objects upstream also reads, unknown keys are ignored as upstream does, unless they
    /// misspell a known one.
    pub(super) fn reject_misspelled(
        &self,
        entry: &Object<'_>,
        field: &str,
        known: &[&str],
    ) -> Result<(), SettingsError> {
        for key in entry.keys() {
            if let Some(meant) = near_miss(key, known) {
                return Err(self.error(
                    Some(&format!("{field}.{key}")),
                    format!("unknown field; did you mean \"{meant}\"?"),
                ));
            }
        }
        Ok(())
    }

    /// In objects only this policy defines, every unknown key is refused.
    pub(super) fn reject_unknown(
        &self,
        entry: &Object<'_>,
        field: &str,
        allowed: &[&str],
    ) -> Result<(), SettingsError> {
        match entry.keys().find(|k| !allowed.contains(k)) {
            Some(unknown) => Err(self.error(
                Some(&format!("{field}.{unknown}")),
                format!("unknown field; expected one of {}", allowed.join(", ")),
            )),
            None => Ok(()),
        }
    }
}

fn required_string_in(map: &Object<'_>, key: &str) -> Result<String, String> {
    match map.get(key) {
        Some(Node::String(s)) if s.trim().is_empty() => Err("must not be empty".into()),
        Some(Node::String(s)) => Ok(s.to_string()),
        None | Some(Node::Null) => Err("is required".into()),
        Some(_) => Err("must be a string".into()),
    }
}
