//! Label selectors with the semantics of Kubernetes label selectors.
//!
//! This module provides:
//!
//! * [`Selector`]: an AND of [`Requirement`]s, parsed from the string syntax
//!   used by `?labelSelector=` (`app=web,tier!=db`, `env in (prod,staging)`,
//!   `!canary`, `replicas>3`, ...) or built from the structured
//!   `matchLabels`/`matchExpressions` form of a `metav1.LabelSelector`;
//! * label key and value validation ([`label_key_errors`],
//!   [`label_value_errors`]) producing the same messages as the Kubernetes API
//!   server, so they can be reused when validating `metadata.labels`.
//!
//! Error messages are worded like the upstream API server's so that clients
//! (kubectl, client libraries, tests) see familiar text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::str::FromStr;

/// Maximum length, in bytes, of a label value and of the name part of a label key.
pub const LABEL_NAME_MAX_LENGTH: usize = 63;

/// Maximum length, in bytes, of the DNS subdomain prefix of a label key.
pub const LABEL_PREFIX_MAX_LENGTH: usize = 253;

const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_ERR_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', \
     and must start and end with an alphanumeric character";
const LABEL_KEY_EXAMPLES: &[&str] = &["MyName", "my.name", "123-abc"];

const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of \
     alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric \
     character";
const LABEL_VALUE_EXAMPLES: &[&str] = &["MyValue", "my_value", "12345"];

const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower \
     case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric \
     character";

/// Operators accepted after a key in the string syntax, as listed in parse errors.
const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

/// Returns the problems with `key` as a label key; an empty list means it is valid.
///
/// A label key is an optional DNS-1123 subdomain prefix (at most 253 bytes)
/// followed by `/`, then a name of at most 63 bytes made of alphanumerics,
/// `-`, `_` and `.` that starts and ends with an alphanumeric character.
pub fn label_key_errors(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_owned());
            } else {
                errs.extend(
                    dns1123_subdomain_errors(prefix)
                        .into_iter()
                        .map(|msg| format!("prefix part {msg}")),
                );
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' \
                 (e.g. 'example.com/MyName')",
                regex_error(LABEL_KEY_ERR_MSG, LABEL_KEY_FMT, LABEL_KEY_EXAMPLES)
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_owned());
    } else if name.len() > LABEL_NAME_MAX_LENGTH {
        errs.push(format!(
            "name part {}",
            max_len_error(LABEL_NAME_MAX_LENGTH)
        ));
    }
    if !is_label_name(name) {
        errs.push(format!(
            "name part {}",
            regex_error(LABEL_KEY_ERR_MSG, LABEL_KEY_FMT, LABEL_KEY_EXAMPLES)
        ));
    }
    errs
}

/// Returns the problems with `value` as a label value; an empty list means it is valid.
///
/// A label value is either empty or at most 63 bytes of alphanumerics, `-`,
/// `_` and `.` starting and ending with an alphanumeric character.
pub fn label_value_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_NAME_MAX_LENGTH {
        errs.push(max_len_error(LABEL_NAME_MAX_LENGTH));
    }
    if !value.is_empty() && !is_label_name(value) {
        errs.push(regex_error(
            LABEL_VALUE_ERR_MSG,
            LABEL_VALUE_FMT,
            LABEL_VALUE_EXAMPLES,
        ));
    }
    errs
}

/// Whether `s` matches `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]` (non-empty).
fn is_label_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// Problems with `s` as a lowercase RFC 1123 subdomain.
fn dns1123_subdomain_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > LABEL_PREFIX_MAX_LENGTH {
        errs.push(max_len_error(LABEL_PREFIX_MAX_LENGTH));
    }
    if !s.split('.').all(is_dns1123_label) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// Whether `s` matches `[a-z0-9]([-a-z0-9]*[a-z0-9])?` (length is not checked).
fn is_dns1123_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    let edge_ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            edge_ok(first) && edge_ok(last) && bytes.iter().all(|b| edge_ok(b) || *b == b'-')
        }
        _ => false,
    }
}

fn max_len_error(max: usize) -> String {
    format!("must be no more than {max} bytes")
}

fn regex_error(msg: &str, regex: &str, examples: &[&str]) -> String {
    let mut out = msg.to_owned();
    if examples.is_empty() {
        let _ = write!(out, " (regex used for validation is '{regex}')");
        return out;
    }
    out.push_str(" (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        let _ = write!(out, "'{example}', ");
    }
    let _ = write!(out, "regex used for validation is '{regex}')");
    out
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// The offending value carried by a [`FieldError`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BadValue {
    /// A single string, rendered double-quoted.
    String(String),
    /// A list of values, rendered as a JSON array (`null` when empty).
    List(Vec<String>),
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadValue::String(s) => f.write_str(&go_quote(s)),
            BadValue::List(values) if values.is_empty() => f.write_str("null"),
            BadValue::List(values) => {
                let mut out = String::from("[");
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_json_string(&mut out, v);
                }
                out.push(']');
                f.write_str(&out)
            }
        }
    }
}

/// One invalid part of a requirement, shaped like an API field error:
/// `<field>: Invalid value: <value>: <detail>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{field}: Invalid value: {value}: {detail}")]
pub struct FieldError {
    /// Path of the invalid part, such as `key`, `values` or `values[0][app]`.
    pub field: String,
    /// The offending value.
    pub value: BadValue,
    /// Why the value is invalid.
    pub detail: String,
}

/// A [`Requirement`] could not be built because its key, operator or values are invalid.
///
/// Displays like an aggregate of field errors: a single message on its own,
/// several distinct messages as `[first, second]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{}", aggregate_message(.errors))]
pub struct RequirementError {
    /// The individual problems, in the order they were found (never empty).
    pub errors: Vec<FieldError>,
}

fn aggregate_message(errors: &[FieldError]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for err in errors {
        let msg = err.to_string();
        if !seen.contains(&msg) {
            seen.push(msg);
        }
    }
    match seen.as_slice() {
        [single] => single.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// A single requirement of a selector string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum RequirementParseError {
    /// A token other than the expected one was found.
    #[error("found '{found}', expected: {expected}")]
    UnexpectedToken {
        /// The token text that was found (empty at the end of the input).
        found: String,
        /// A description of what was expected.
        expected: &'static str,
    },
    /// `in`/`notin` was not followed by `(`.
    #[error("found '{found}' expected: '('")]
    MissingOpenParen {
        /// The token text that was found instead (empty at the end of the input).
        found: String,
    },
    /// The key is not a valid label key (reported before any operator is read).
    #[error("{0}")]
    InvalidKey(FieldError),
    /// The requirement is syntactically fine but its key or values are invalid.
    #[error(transparent)]
    Invalid(#[from] RequirementError),
}

/// A label selector string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SelectorParseError {
    /// A token other than the expected one was found between requirements.
    #[error("found '{found}', expected: {expected}")]
    UnexpectedToken {
        /// The token text that was found (empty at the end of the input).
        found: String,
        /// A description of what was expected.
        expected: &'static str,
    },
    /// One requirement could not be parsed.
    #[error("unable to parse requirement: {0}")]
    Requirement(#[source] RequirementParseError),
}

/// A structured label selector could not be converted into a [`Selector`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum LabelSelectorError {
    /// A match expression used an operator other than `In`, `NotIn`, `Exists` or `DoesNotExist`.
    #[error("{} is not a valid label selector operator", go_quote(.0))]
    InvalidOperator(String),
    /// A match label or match expression is invalid.
    #[error(transparent)]
    Invalid(#[from] RequirementError),
}

// ---------------------------------------------------------------------------
// Requirement
// ---------------------------------------------------------------------------

/// How a [`Requirement`] relates a label's value to its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// `key=value`: the label exists and equals the value.
    Equals,
    /// `key==value`: same as [`Operator::Equals`], kept distinct for display.
    DoubleEquals,
    /// `key!=value`: the label is absent or differs from the value.
    NotEquals,
    /// `key in (a,b)`: the label exists and equals one of the values.
    In,
    /// `key notin (a,b)`: the label is absent or equals none of the values.
    NotIn,
    /// `key`: the label exists.
    Exists,
    /// `!key`: the label does not exist.
    DoesNotExist,
    /// `key>n`: the label exists, is an integer, and is greater than `n`.
    GreaterThan,
    /// `key<n`: the label exists, is an integer, and is less than `n`.
    LessThan,
}

impl Operator {
    /// The upstream name of the operator (`=`, `==`, `!=`, `in`, `notin`, `exists`, `!`, `gt`, `lt`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One condition of a [`Selector`]: a key, an operator and values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// Builds a validated requirement.
    ///
    /// The key must be a valid label key and every value a valid label value;
    /// `In`/`NotIn` need at least one value, the (not-)equals operators exactly
    /// one, `Exists`/`DoesNotExist` none, and `GreaterThan`/`LessThan` exactly
    /// one value that parses as a 64-bit integer. All problems are reported
    /// together.
    pub fn new(
        key: impl Into<String>,
        operator: Operator,
        values: Vec<String>,
    ) -> Result<Self, RequirementError> {
        let key = key.into();
        let mut errors = Vec::new();
        let key_errs = label_key_errors(&key);
        if !key_errs.is_empty() {
            errors.push(FieldError {
                field: "key".to_owned(),
                value: BadValue::String(key.clone()),
                detail: key_errs.join("; "),
            });
        }
        let values_error = |detail: &str| FieldError {
            field: "values".to_owned(),
            value: BadValue::List(values.clone()),
            detail: detail.to_owned(),
        };
        match operator {
            Operator::In | Operator::NotIn => {
                if values.is_empty() {
                    errors.push(values_error(
                        "for 'in', 'notin' operators, values set can't be empty",
                    ));
                }
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals => {
                if values.len() != 1 {
                    errors.push(values_error(
                        "exact-match compatibility requires one single value",
                    ));
                }
            }
            Operator::Exists | Operator::DoesNotExist => {
                if !values.is_empty() {
                    errors.push(values_error(
                        "values set must be empty for exists and does not exist",
                    ));
                }
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errors.push(values_error(
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                }
                for (i, value) in values.iter().enumerate() {
                    if value.parse::<i64>().is_err() {
                        errors.push(FieldError {
                            field: format!("values[{i}]"),
                            value: BadValue::String(value.clone()),
                            detail: "for 'Gt', 'Lt' operators, the value must be an integer"
                                .to_owned(),
                        });
                    }
                }
            }
        }
        for (i, value) in values.iter().enumerate() {
            let value_errs = label_value_errors(value);
            if !value_errs.is_empty() {
                errors.push(FieldError {
                    field: format!("values[{i}][{key}]"),
                    value: BadValue::String(value.clone()),
                    detail: value_errs.join("; "),
                });
            }
        }
        if errors.is_empty() {
            Ok(Requirement {
                key,
                operator,
                values,
            })
        } else {
            Err(RequirementError { errors })
        }
    }

    /// The label key this requirement constrains.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator of this requirement.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values of this requirement, in the order they were given.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether `labels` satisfies this requirement.
    ///
    /// `!=` and `notin` match when the key is absent; `gt`/`lt` never match
    /// when the key is absent or its value is not an integer.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                value.is_some_and(|v| self.values.contains(v))
            }
            Operator::NotIn | Operator::NotEquals => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(actual) = value.and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                let [bound] = self.values.as_slice() else {
                    return false;
                };
                let Ok(bound) = bound.parse::<i64>() else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    actual > bound
                } else {
                    actual < bound
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            Operator::Exists => return f.write_str(&self.key),
            Operator::DoesNotExist => return write!(f, "!{}", self.key),
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
        };
        let is_set = matches!(self.operator, Operator::In | Operator::NotIn);
        let mut values: Vec<&str> = self.values.iter().map(String::as_str).collect();
        values.sort_unstable();
        write!(f, "{}{op}", self.key)?;
        if is_set {
            f.write_str("(")?;
        }
        f.write_str(&values.join(","))?;
        if is_set {
            f.write_str(")")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Selector
// ---------------------------------------------------------------------------

/// One requirement of a `metav1.LabelSelector`'s `matchExpressions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LabelSelectorRequirement {
    /// The label key.
    pub key: String,
    /// One of `In`, `NotIn`, `Exists`, `DoesNotExist` (case-sensitive).
    pub operator: String,
    /// Values for `In`/`NotIn`; must be empty for `Exists`/`DoesNotExist`.
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Repr {
    /// An AND of requirements, sorted by key; empty means "everything".
    Requirements(Vec<Requirement>),
    /// Matches no label set at all.
    Nothing,
}

/// A label selector: an AND of [`Requirement`]s, or the special "nothing" selector.
///
/// Requirements are kept sorted by key (stable, so requirements on the same
/// key keep their relative order), which makes [`Display`](fmt::Display)
/// output canonical.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Selector {
    repr: Repr,
}

impl Default for Selector {
    fn default() -> Self {
        Selector::everything()
    }
}

impl Selector {
    /// A selector with no requirements, matching every label set.
    pub fn everything() -> Self {
        Selector {
            repr: Repr::Requirements(Vec::new()),
        }
    }

    /// A selector matching no label set (what a missing `LabelSelector` means).
    pub fn nothing() -> Self {
        Selector {
            repr: Repr::Nothing,
        }
    }

    /// Parses the string syntax of label selectors.
    ///
    /// Requirements are separated by `,` and each is one of `key`, `!key`,
    /// `key=value`, `key==value`, `key!=value`, `key in (v1,v2)`,
    /// `key notin (v1,v2)`, `key>n` or `key<n`. Blanks (space, tab, CR, LF)
    /// around tokens are ignored, a missing value means the empty string, and
    /// `key in ()` means "the value is empty". An empty string parses to
    /// [`Selector::everything`].
    pub fn parse(input: &str) -> Result<Self, SelectorParseError> {
        let mut requirements = Parser::new(input).parse()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Selector {
            repr: Repr::Requirements(requirements),
        })
    }

    /// A selector requiring every label of `set` with its exact value (`key=value`).
    ///
    /// Keys and values are not validated; an empty set gives [`Selector::everything`].
    pub fn from_set(set: &BTreeMap<String, String>) -> Self {
        Selector {
            repr: Repr::Requirements(
                set.iter()
                    .map(|(key, value)| Requirement {
                        key: key.clone(),
                        operator: Operator::Equals,
                        values: vec![value.clone()],
                    })
                    .collect(),
            ),
        }
    }

    /// Converts the structured form of a `metav1.LabelSelector`.
    ///
    /// Empty `match_labels` and `match_expressions` give
    /// [`Selector::everything`]; a missing (`null`) label selector should be
    /// mapped to [`Selector::nothing`] by the caller. Match labels become
    /// `key=value` requirements; expressions accept the operators `In`,
    /// `NotIn`, `Exists` and `DoesNotExist`. The first invalid entry (labels
    /// first, then expressions in order) is reported.
    pub fn from_label_selector(
        match_labels: &BTreeMap<String, String>,
        match_expressions: &[LabelSelectorRequirement],
    ) -> Result<Self, LabelSelectorError> {
        let mut requirements = Vec::with_capacity(match_labels.len() + match_expressions.len());
        for (key, value) in match_labels {
            requirements.push(Requirement::new(
                key.clone(),
                Operator::Equals,
                vec![value.clone()],
            )?);
        }
        for expr in match_expressions {
            let operator = match expr.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => return Err(LabelSelectorError::InvalidOperator(other.to_owned())),
            };
            requirements.push(Requirement::new(
                expr.key.clone(),
                operator,
                expr.values.clone(),
            )?);
        }
        Ok(Selector::everything().with_requirements(requirements))
    }

    /// Returns this selector with `requirements` added (ANDed).
    ///
    /// Adding to [`Selector::nothing`] leaves it unchanged.
    pub fn with_requirements(self, requirements: impl IntoIterator<Item = Requirement>) -> Self {
        match self.repr {
            Repr::Nothing => self,
            Repr::Requirements(mut existing) => {
                existing.extend(requirements);
                existing.sort_by(|a, b| a.key.cmp(&b.key));
                Selector {
                    repr: Repr::Requirements(existing),
                }
            }
        }
    }

    /// Whether `labels` satisfies every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match &self.repr {
            Repr::Nothing => false,
            Repr::Requirements(reqs) => reqs.iter().all(|r| r.matches(labels)),
        }
    }

    /// Whether the selector has no requirements and so matches everything.
    ///
    /// [`Selector::nothing`] is not empty.
    pub fn is_empty(&self) -> bool {
        matches!(&self.repr, Repr::Requirements(reqs) if reqs.is_empty())
    }

    /// Whether this is the [`Selector::nothing`] selector.
    pub fn matches_nothing(&self) -> bool {
        self.repr == Repr::Nothing
    }

    /// The requirements, sorted by key (none for [`Selector::nothing`]).
    pub fn requirements(&self) -> &[Requirement] {
        match &self.repr {
            Repr::Nothing => &[],
            Repr::Requirements(reqs) => reqs,
        }
    }

    /// The single value `key` must have, if the selector pins it.
    ///
    /// Looks at the first requirement on `key` only: it pins a value when it
    /// is `=`, `==`, or `in` with exactly one value.
    pub fn requires_exact_match(&self, key: &str) -> Option<&str> {
        let req = self.requirements().iter().find(|r| r.key == key)?;
        match (req.operator, req.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [value]) => Some(value),
            _ => None,
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, req) in self.requirements().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{req}")?;
        }
        Ok(())
    }
}

impl FromStr for Selector {
    type Err = SelectorParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Selector::parse(s)
    }
}

// ---------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits a selector string into tokens.
///
/// Works on bytes; every delimiter is ASCII, so token boundaries are always
/// UTF-8 boundaries. Like upstream, a NUL byte acts as an end-of-input marker
/// for the token being read.
struct Lexer<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// Reads the next byte, or 0 at the end of the input.
    fn read(&mut self) -> u8 {
        match self.input.as_bytes().get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                b
            }
            None => 0,
        }
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.input.get(start..end).unwrap_or_default()
    }

    fn lex(&mut self) -> (Token, &'a str) {
        let mut b = self.read();
        while is_blank(b) {
            b = self.read();
        }
        if b == 0 {
            return (Token::EndOfString, "");
        }
        self.unread();
        if is_special(b) {
            self.scan_special()
        } else {
            self.scan_identifier_or_keyword()
        }
    }

    fn scan_identifier_or_keyword(&mut self) -> (Token, &'a str) {
        let start = self.pos;
        let end = loop {
            let before = self.pos;
            let b = self.read();
            if b == 0 {
                break before;
            }
            if is_special(b) || is_blank(b) {
                self.unread();
                break before;
            }
        };
        let text = self.slice(start, end);
        let token = match text {
            "in" => Token::In,
            "notin" => Token::NotIn,
            _ => Token::Identifier,
        };
        (token, text)
    }

    /// Scans the longest operator at the current position (`!=` and `==` win over `!`, `=`).
    fn scan_special(&mut self) -> (Token, &'a str) {
        let start = self.pos;
        let first = self.read();
        let second = self.input.as_bytes().get(self.pos).copied();
        let token = match (first, second) {
            (b'!', Some(b'=')) => Token::NotEquals,
            (b'=', Some(b'=')) => Token::DoubleEquals,
            (b'!', _) => Token::DoesNotExist,
            (b'=', _) => Token::Equals,
            (b'(', _) => Token::OpenPar,
            (b')', _) => Token::ClosedPar,
            (b',', _) => Token::Comma,
            (b'>', _) => Token::GreaterThan,
            _ => Token::LessThan,
        };
        if matches!(token, Token::NotEquals | Token::DoubleEquals) {
            self.pos += 1;
        }
        (token, self.slice(start, self.pos))
    }
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

/// Whether `in`/`notin` are read as operators or as plain identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

type ReqResult<T> = Result<T, RequirementParseError>;

struct Parser<'a> {
    tokens: Vec<(Token, &'a str)>,
    position: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        let mut lexer = Lexer { input, pos: 0 };
        let mut tokens = Vec::new();
        loop {
            let item = lexer.lex();
            tokens.push(item);
            if item.0 == Token::EndOfString {
                break;
            }
        }
        Parser {
            tokens,
            position: 0,
        }
    }

    fn lookahead(&self, context: Context) -> (Token, &'a str) {
        let (token, text) = self
            .tokens
            .get(self.position)
            .copied()
            .unwrap_or((Token::EndOfString, ""));
        match (context, token) {
            (Context::Values, Token::In | Token::NotIn) => (Token::Identifier, text),
            _ => (token, text),
        }
    }

    fn consume(&mut self, context: Context) -> (Token, &'a str) {
        let item = self.lookahead(context);
        if self.position < self.tokens.len() {
            self.position += 1;
        }
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, SelectorParseError> {
        let mut requirements = Vec::new();
        loop {
            let (token, text) = self.lookahead(Context::Values);
            match token {
                Token::Identifier | Token::DoesNotExist => {
                    let req = self
                        .parse_requirement()
                        .map_err(SelectorParseError::Requirement)?;
                    requirements.push(req);
                    let (token, text) = self.consume(Context::Values);
                    match token {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let (next, next_text) = self.lookahead(Context::Values);
                            if !matches!(next, Token::Identifier | Token::DoesNotExist) {
                                return Err(SelectorParseError::UnexpectedToken {
                                    found: next_text.to_owned(),
                                    expected: "identifier after ','",
                                });
                            }
                        }
                        _ => {
                            return Err(SelectorParseError::UnexpectedToken {
                                found: text.to_owned(),
                                expected: "',' or 'end of string'",
                            });
                        }
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => {
                    return Err(SelectorParseError::UnexpectedToken {
                        found: text.to_owned(),
                        expected: "!, identifier, or 'end of string'",
                    });
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> ReqResult<Requirement> {
        let (key, inferred) = self.parse_key_and_infer_operator()?;
        if let Some(operator) = inferred {
            return Ok(Requirement::new(key, operator, Vec::new())?);
        }
        let operator = self.parse_operator()?;
        let values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Ok(Requirement::new(
            key,
            operator,
            values.into_iter().collect(),
        )?)
    }

    /// Reads `[!]key`; the operator is known already for `!key` and for a bare `key`.
    fn parse_key_and_infer_operator(&mut self) -> ReqResult<(&'a str, Option<Operator>)> {
        let mut operator = None;
        let (mut token, mut text) = self.consume(Context::Values);
        if token == Token::DoesNotExist {
            operator = Some(Operator::DoesNotExist);
            (token, text) = self.consume(Context::Values);
        }
        if token != Token::Identifier {
            return Err(RequirementParseError::UnexpectedToken {
                found: text.to_owned(),
                expected: "identifier",
            });
        }
        let key_errs = label_key_errors(text);
        if !key_errs.is_empty() {
            return Err(RequirementParseError::InvalidKey(FieldError {
                field: "<nil>".to_owned(),
                value: BadValue::String(text.to_owned()),
                detail: key_errs.join("; "),
            }));
        }
        let (next, _) = self.lookahead(Context::Values);
        if matches!(next, Token::EndOfString | Token::Comma) && operator.is_none() {
            operator = Some(Operator::Exists);
        }
        Ok((text, operator))
    }

    fn parse_operator(&mut self) -> ReqResult<Operator> {
        let (token, text) = self.consume(Context::KeyAndOperator);
        match token {
            Token::In => Ok(Operator::In),
            Token::Equals => Ok(Operator::Equals),
            Token::DoubleEquals => Ok(Operator::DoubleEquals),
            Token::GreaterThan => Ok(Operator::GreaterThan),
            Token::LessThan => Ok(Operator::LessThan),
            Token::NotIn => Ok(Operator::NotIn),
            Token::NotEquals => Ok(Operator::NotEquals),
            _ => Err(RequirementParseError::UnexpectedToken {
                found: text.to_owned(),
                expected: BINARY_OPERATORS,
            }),
        }
    }

    /// Reads `( v1, v2, ... )`; `()` stands for the single empty value.
    fn parse_values(&mut self) -> ReqResult<BTreeSet<String>> {
        let (token, text) = self.consume(Context::Values);
        if token != Token::OpenPar {
            return Err(RequirementParseError::MissingOpenParen {
                found: text.to_owned(),
            });
        }
        let (token, text) = self.lookahead(Context::Values);
        match token {
            Token::Identifier | Token::Comma => {
                let values = self.parse_identifiers_list()?;
                let (closing, _) = self.consume(Context::Values);
                if closing != Token::ClosedPar {
                    return Err(RequirementParseError::UnexpectedToken {
                        found: text.to_owned(),
                        expected: "')'",
                    });
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err(RequirementParseError::UnexpectedToken {
                found: text.to_owned(),
                expected: "',', ')' or identifier",
            }),
        }
    }

    /// Reads comma-separated values up to (not including) `)`; a missing
    /// value between commas or next to a parenthesis is the empty string.
    fn parse_identifiers_list(&mut self) -> ReqResult<BTreeSet<String>> {
        let mut values = BTreeSet::new();
        loop {
            let (token, text) = self.consume(Context::Values);
            match token {
                Token::Identifier => {
                    values.insert(text.to_owned());
                    let (next, next_text) = self.lookahead(Context::Values);
                    match next {
                        Token::Comma => {}
                        Token::ClosedPar => return Ok(values),
                        _ => {
                            return Err(RequirementParseError::UnexpectedToken {
                                found: next_text.to_owned(),
                                expected: "',' or ')'",
                            });
                        }
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        values.insert(String::new());
                    }
                    let (next, _) = self.lookahead(Context::Values);
                    if next == Token::ClosedPar {
                        values.insert(String::new());
                        return Ok(values);
                    }
                    if next == Token::Comma {
                        values.insert(String::new());
                    }
                }
                _ => {
                    return Err(RequirementParseError::UnexpectedToken {
                        found: text.to_owned(),
                        expected: "',', or identifier",
                    });
                }
            }
        }
    }

    /// Reads the value after `=`, `==`, `!=`, `>` or `<`; a missing value is the empty string.
    fn parse_exact_value(&mut self) -> ReqResult<BTreeSet<String>> {
        let (next, _) = self.lookahead(Context::Values);
        if matches!(next, Token::EndOfString | Token::Comma) {
            return Ok(BTreeSet::from([String::new()]));
        }
        let (token, text) = self.consume(Context::Values);
        if token == Token::Identifier {
            Ok(BTreeSet::from([text.to_owned()]))
        } else {
            Err(RequirementParseError::UnexpectedToken {
                found: text.to_owned(),
                expected: "identifier",
            })
        }
    }
}

// ---------------------------------------------------------------------------
// Quoting helpers
// ---------------------------------------------------------------------------

/// Double-quotes `s` the way Go's `%q` verb does (close approximation of
/// Go's notion of printable characters).
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_printable(c) => out.push(c),
            c if u32::from(c) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if u32::from(c) < 0x1_0000 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08x}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

fn is_printable(c: char) -> bool {
    c == ' '
        || !(c.is_control()
            || c.is_whitespace()
            || matches!(
                c,
                '\u{ad}'
                    | '\u{200b}'..='\u{200f}'
                    | '\u{2028}'..='\u{202e}'
                    | '\u{2060}'..='\u{2064}'
                    | '\u{feff}'
                    | '\u{fff9}'..='\u{fffb}'
            ))
}

/// Appends `s` as a JSON string literal, escaping like Go's `encoding/json`.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn parse(input: &str) -> Selector {
        match Selector::parse(input) {
            Ok(selector) => selector,
            Err(err) => panic!("{input:?} should parse: {err}"),
        }
    }

    fn parse_err(input: &str) -> String {
        match Selector::parse(input) {
            Ok(selector) => panic!("{input:?} should not parse, got {selector}"),
            Err(err) => err.to_string(),
        }
    }

    fn expr(key: &str, operator: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.to_owned(),
            operator: operator.to_owned(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    const NAME_REGEX_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', \
        and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  \
        or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    const VALUE_REGEX_MSG: &str = "a valid label must be an empty string or consist of \
        alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric \
        character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is \
        '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    #[test]
    fn empty_and_blank_strings_parse_to_everything() {
        for input in ["", "   ", "\t\r\n"] {
            let selector = parse(input);
            assert!(selector.is_empty());
            assert_eq!(selector, Selector::everything());
            assert!(selector.matches(&labels(&[("x", "y")])));
            assert!(selector.matches(&BTreeMap::new()));
            assert_eq!(selector.to_string(), "");
        }
    }

    #[test]
    fn nothing_matches_no_labels_and_is_not_empty() {
        let nothing = Selector::nothing();
        assert!(!nothing.matches(&BTreeMap::new()));
        assert!(!nothing.matches(&labels(&[("x", "y")])));
        assert!(!nothing.is_empty());
        assert!(nothing.matches_nothing());
        assert_eq!(nothing.to_string(), "");
        assert!(nothing.requirements().is_empty());
        let added = Selector::nothing().with_requirements([parse("x").requirements()[0].clone()]);
        assert!(added.matches_nothing());
    }

    #[test]
    fn valid_strings_round_trip_without_blanks() {
        for input in [
            "x=a,y=b,z=c",
            "x!=a,y=b",
            "x=",
            "x= ",
            "x=,z= ",
            "x= ,z= ",
            "!x",
            "x>1",
            "x>1,z<5",
            "x==a",
            "example.com/app=web",
        ] {
            assert_eq!(parse(input).to_string(), input.replace(' ', ""));
        }
        for input in ["a in (b,c),d notin (e)", "x in ()", "x notin (,a)"] {
            assert_eq!(parse(input).to_string(), input);
        }
    }

    #[test]
    fn display_is_canonical_and_reparses_to_the_same_selector() {
        let selector = parse("  tier != db ,  app=web, env in ( staging , prod ),!canary, x ");
        assert_eq!(
            selector.to_string(),
            "app=web,!canary,env in (prod,staging),tier!=db,x"
        );
        assert_eq!(parse(&selector.to_string()), selector);
        assert_eq!(parse("x=a,a=x").to_string(), parse("a=x,x=a").to_string());
    }

    #[test]
    fn blanks_include_tabs_and_newlines() {
        assert_eq!(parse("a\t=\tb,\nc\r\nin (d)").to_string(), "a=b,c in (d)");
    }

    #[test]
    fn equality_operators_match_present_values() {
        let set = labels(&[("foo", "bar"), ("baz", "blah")]);
        assert!(parse("foo=bar").matches(&set));
        assert!(parse("foo==bar").matches(&set));
        assert!(parse("foo=bar,baz=blah").matches(&set));
        assert!(!parse("foo=blah").matches(&set));
        assert!(!parse("foo=bar,foobar=bar,baz=blah").matches(&set));
        assert!(!parse("x=").matches(&set), "= requires the key to exist");
        assert!(parse("x=").matches(&labels(&[("x", "")])));
    }

    #[test]
    fn not_equals_and_notin_match_absent_keys() {
        assert!(parse("x!=y").matches(&BTreeMap::new()));
        assert!(parse("x notin (a,b)").matches(&BTreeMap::new()));
        assert!(parse("x!=y,z!=w").matches(&labels(&[("x", "z"), ("z", "a")])));
        assert!(!parse("x!=y,z!=w").matches(&labels(&[("x", "z"), ("z", "w")])));
        assert!(!parse("x notin (a,b)").matches(&labels(&[("x", "b")])));
        assert!(parse("x notin (a,b)").matches(&labels(&[("x", "c")])));
    }

    #[test]
    fn in_requires_the_key_and_one_of_the_values() {
        let selector = parse("env in (prod, staging)");
        assert!(selector.matches(&labels(&[("env", "prod")])));
        assert!(selector.matches(&labels(&[("env", "staging")])));
        assert!(!selector.matches(&labels(&[("env", "dev")])));
        assert!(!selector.matches(&BTreeMap::new()));
    }

    #[test]
    fn exists_and_does_not_exist() {
        assert!(parse("x").matches(&labels(&[("x", "")])));
        assert!(!parse("x").matches(&labels(&[("y", "z")])));
        assert!(parse("!x").matches(&labels(&[("y", "z")])));
        assert!(!parse("!x").matches(&labels(&[("x", "z")])));
        assert_eq!(
            parse("!x").requirements()[0].operator(),
            Operator::DoesNotExist
        );
        assert_eq!(parse(" ! x ").to_string(), "!x");
    }

    #[test]
    fn greater_and_less_than_compare_integers() {
        assert!(parse("x>1").matches(&labels(&[("x", "2")])));
        assert!(!parse("x>1").matches(&labels(&[("x", "1")])));
        assert!(parse("x<1").matches(&labels(&[("x", "0")])));
        assert!(!parse("x<1").matches(&labels(&[("x", "2")])));
        assert!(
            parse("x>9").matches(&labels(&[("x", "10")])),
            "numeric, not lexical"
        );
        assert!(
            !parse("x>1").matches(&BTreeMap::new()),
            "absent key never matches"
        );
        assert!(
            !parse("x<100").matches(&labels(&[("x", "abc")])),
            "non-integer value"
        );
    }

    #[test]
    fn greater_than_requires_an_integer_bound() {
        assert_eq!(
            parse_err("x<a"),
            "unable to parse requirement: values[0]: Invalid value: \"a\": \
             for 'Gt', 'Lt' operators, the value must be an integer"
        );
        assert_eq!(
            parse_err("x>"),
            "unable to parse requirement: values[0]: Invalid value: \"\": \
             for 'Gt', 'Lt' operators, the value must be an integer"
        );
        assert!(Selector::parse("x>=1").is_err());
    }

    #[test]
    fn empty_parentheses_mean_the_empty_value() {
        let selector = parse("x in ()");
        assert_eq!(selector.requirements()[0].values(), [String::new()]);
        assert!(selector.matches(&labels(&[("x", "")])));
        assert!(!selector.matches(&labels(&[("x", "a")])));
        assert_eq!(selector.to_string(), "x in ()");
        assert!(parse("x notin ()").matches(&labels(&[("x", "a")])));
        assert!(!parse("x notin ()").matches(&labels(&[("x", "")])));
    }

    #[test]
    fn missing_values_in_sets_are_empty_strings() {
        assert_eq!(parse("x in (a,)").to_string(), "x in (,a)");
        assert_eq!(parse("x in (,a)").to_string(), "x in (,a)");
        assert_eq!(parse("x in (a,,b)").to_string(), "x in (,a,b)");
        assert_eq!(parse("x in (,)").to_string(), "x in ()");
        assert_eq!(parse("x in (b,a,b)").requirements()[0].values(), ["a", "b"]);
    }

    #[test]
    fn keywords_are_identifiers_outside_operator_position() {
        let selector = parse("in in (in, notin),notin=in");
        assert!(selector.matches(&labels(&[("in", "notin"), ("notin", "in")])));
        assert!(parse("in").matches(&labels(&[("in", "x")])));
        assert_eq!(
            parse_err("x in in"),
            "unable to parse requirement: found 'in' expected: '('"
        );
    }

    #[test]
    fn syntax_errors_are_worded_like_upstream() {
        let operators = "expected: in, notin, =, ==, !=, gt, lt";
        let cases: &[(&str, String)] = &[
            (
                "x=a||y=b",
                format!(
                    "unable to parse requirement: values[0][x]: Invalid value: \"a||y\": {VALUE_REGEX_MSG}"
                ),
            ),
            (
                "x==a==b",
                "found '==', expected: ',' or 'end of string'".to_owned(),
            ),
            (
                "!x=a",
                "found '=', expected: ',' or 'end of string'".to_owned(),
            ),
            (
                "!",
                "unable to parse requirement: found '', expected: identifier".to_owned(),
            ),
            ("a,", "found '', expected: identifier after ','".to_owned()),
            (
                "a,,b",
                "found ',', expected: identifier after ','".to_owned(),
            ),
            (
                ",a",
                "found ',', expected: !, identifier, or 'end of string'".to_owned(),
            ),
            (
                "=a",
                "found '=', expected: !, identifier, or 'end of string'".to_owned(),
            ),
            (
                "x y",
                format!("unable to parse requirement: found 'y', {operators}"),
            ),
            (
                "x (",
                format!("unable to parse requirement: found '(', {operators}"),
            ),
            (
                "x in a",
                "unable to parse requirement: found 'a' expected: '('".to_owned(),
            ),
            (
                "x in",
                "unable to parse requirement: found '' expected: '('".to_owned(),
            ),
            (
                "x in (a",
                "unable to parse requirement: found '', expected: ',' or ')'".to_owned(),
            ),
            (
                "x in (a b)",
                "unable to parse requirement: found 'b', expected: ',' or ')'".to_owned(),
            ),
            (
                "x in (=)",
                "unable to parse requirement: found '=', expected: ',', ')' or identifier"
                    .to_owned(),
            ),
            (
                "x in (a,=)",
                "unable to parse requirement: found '=', expected: ',', or identifier".to_owned(),
            ),
            (
                "x in (a,",
                "unable to parse requirement: found '', expected: ',', or identifier".to_owned(),
            ),
            (
                "x=(",
                "unable to parse requirement: found '(', expected: identifier".to_owned(),
            ),
            (
                "x=a b",
                "found 'b', expected: ',' or 'end of string'".to_owned(),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(&parse_err(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn trailing_comma_is_rejected() {
        assert_eq!(
            parse_err("app=web,"),
            "found '', expected: identifier after ','"
        );
    }

    #[test]
    fn invalid_keys_are_rejected_with_nil_field() {
        assert_eq!(
            parse_err("app:=x"),
            format!(
                "unable to parse requirement: <nil>: Invalid value: \"app:\": name part {NAME_REGEX_MSG}"
            )
        );
        let long = "a".repeat(64);
        assert_eq!(
            parse_err(&long),
            format!(
                "unable to parse requirement: <nil>: Invalid value: \"{long}\": name part must be no more than 63 bytes"
            )
        );
        assert!(Selector::parse(&"a".repeat(63)).is_ok());
        assert_eq!(
            parse_err("-a"),
            format!(
                "unable to parse requirement: <nil>: Invalid value: \"-a\": name part {NAME_REGEX_MSG}"
            )
        );
    }

    #[test]
    fn key_prefixes_must_be_lowercase_dns_subdomains() {
        let subdomain_msg = "a lowercase RFC 1123 subdomain must consist of lower case \
            alphanumeric characters, '-' or '.', and must start and end with an alphanumeric \
            character (e.g. 'example.com', regex used for validation is \
            '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
        assert_eq!(
            label_key_errors("Example.com/a"),
            [format!("prefix part {subdomain_msg}")]
        );
        assert_eq!(
            label_key_errors("example..com/a"),
            [format!("prefix part {subdomain_msg}")]
        );
        assert_eq!(label_key_errors("/a"), ["prefix part must be non-empty"]);
        let long_prefix = format!("{}.com", "a".repeat(250));
        assert_eq!(
            label_key_errors(&format!("{long_prefix}/a")),
            ["prefix part must be no more than 253 bytes"]
        );
        assert!(label_key_errors("app.kubernetes.io/name").is_empty());
        assert!(label_key_errors("k8s.io/Some_Name.x").is_empty());
        assert_eq!(
            label_key_errors("a/"),
            [
                "name part must be non-empty".to_owned(),
                format!("name part {NAME_REGEX_MSG}")
            ]
        );
        assert_eq!(
            label_key_errors("a/b/c"),
            [format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' \
                 (e.g. 'example.com/MyName')",
                NAME_REGEX_MSG
            )]
        );
        assert_eq!(
            parse_err("Bad.Prefix/a"),
            format!(
                "unable to parse requirement: <nil>: Invalid value: \"Bad.Prefix/a\": prefix part {subdomain_msg}"
            )
        );
    }

    #[test]
    fn multiple_key_problems_are_joined_with_semicolons() {
        assert_eq!(
            parse_err("/"),
            format!(
                "unable to parse requirement: <nil>: Invalid value: \"/\": prefix part must be \
                 non-empty; name part must be non-empty; name part {NAME_REGEX_MSG}"
            )
        );
    }

    #[test]
    fn invalid_values_are_rejected() {
        assert_eq!(
            parse_err("x=-a"),
            format!(
                "unable to parse requirement: values[0][x]: Invalid value: \"-a\": {VALUE_REGEX_MSG}"
            )
        );
        let long = "v".repeat(64);
        assert_eq!(
            parse_err(&format!("x={long}")),
            format!(
                "unable to parse requirement: values[0][x]: Invalid value: \"{long}\": must be no more than 63 bytes"
            )
        );
        assert!(Selector::parse(&format!("x={}", "v".repeat(63))).is_ok());
        assert_eq!(
            parse_err("x in (a, b_)"),
            format!(
                "unable to parse requirement: values[1][x]: Invalid value: \"b_\": {VALUE_REGEX_MSG}"
            )
        );
        assert!(label_value_errors("").is_empty());
        assert!(label_value_errors("a.b_c-d").is_empty());
    }

    #[test]
    fn non_ascii_and_control_characters_are_quoted_like_go() {
        assert_eq!(
            parse_err("x=é"),
            format!(
                "unable to parse requirement: values[0][x]: Invalid value: \"é\": {VALUE_REGEX_MSG}"
            )
        );
        assert_eq!(
            go_quote("a\"b\\c\u{1}\u{7f}\u{a0}"),
            "\"a\\\"b\\\\c\\x01\\x7f\\u00a0\""
        );
    }

    #[test]
    fn nul_byte_ends_the_input_like_upstream() {
        assert_eq!(parse("\0x=a garbage").to_string(), "");
        assert_eq!(
            parse_err("x=a,\0b"),
            "found '', expected: identifier after ','"
        );
    }

    #[test]
    fn duplicate_keys_are_kept_in_order() {
        let selector = parse("x=a,y,x=b");
        assert_eq!(selector.to_string(), "x=a,x=b,y");
        assert!(!selector.matches(&labels(&[("x", "a"), ("y", "1")])));
        assert_eq!(selector.requires_exact_match("x"), Some("a"));
    }

    #[test]
    fn requires_exact_match_reports_pinned_values() {
        let selector = parse("a=1,b==2,c in (3),d in (4,5),e!=6,f");
        assert_eq!(selector.requires_exact_match("a"), Some("1"));
        assert_eq!(selector.requires_exact_match("b"), Some("2"));
        assert_eq!(selector.requires_exact_match("c"), Some("3"));
        assert_eq!(selector.requires_exact_match("d"), None);
        assert_eq!(selector.requires_exact_match("e"), None);
        assert_eq!(selector.requires_exact_match("f"), None);
        assert_eq!(selector.requires_exact_match("zzz"), None);
        assert_eq!(Selector::nothing().requires_exact_match("a"), None);
    }

    #[test]
    fn requirement_new_aggregates_all_problems() {
        let err = match Requirement::new("bad key", Operator::Exists, vec!["v".to_owned()]) {
            Ok(req) => panic!("unexpectedly valid: {req}"),
            Err(err) => err,
        };
        assert_eq!(err.errors.len(), 2);
        assert_eq!(
            err.to_string(),
            format!(
                "[key: Invalid value: \"bad key\": name part {NAME_REGEX_MSG}, values: Invalid \
                 value: [\"v\"]: values set must be empty for exists and does not exist]"
            )
        );
        let exact = Requirement::new("a", Operator::Equals, vec!["1".into(), "2".into()]);
        assert_eq!(
            exact.map_err(|e| e.to_string()),
            Err("values: Invalid value: [\"1\",\"2\"]: exact-match compatibility requires one single value".to_owned())
        );
        let gt = Requirement::new("a", Operator::GreaterThan, vec![]);
        assert_eq!(
            gt.map_err(|e| e.to_string()),
            Err("values: Invalid value: null: for 'Gt', 'Lt' operators, exactly one value is required".to_owned())
        );
    }

    #[test]
    fn label_selector_with_no_terms_is_everything() {
        let selector = Selector::from_label_selector(&BTreeMap::new(), &[]);
        assert_eq!(selector, Ok(Selector::everything()));
    }

    #[test]
    fn label_selector_combines_labels_and_expressions_sorted_by_key() {
        let match_labels = labels(&[("tier", "web"), ("app", "shop")]);
        let exprs = [
            expr("env", "In", &["prod", "canary"]),
            expr("legacy", "DoesNotExist", &[]),
            expr("zone", "NotIn", &["b"]),
            expr("owner", "Exists", &[]),
        ];
        let selector = match Selector::from_label_selector(&match_labels, &exprs) {
            Ok(selector) => selector,
            Err(err) => panic!("valid selector rejected: {err}"),
        };
        assert_eq!(
            selector.to_string(),
            "app=shop,env in (canary,prod),!legacy,owner,tier=web,zone notin (b)"
        );
        assert!(selector.matches(&labels(&[
            ("app", "shop"),
            ("tier", "web"),
            ("env", "prod"),
            ("owner", "me"),
        ])));
        assert!(!selector.matches(&labels(&[
            ("app", "shop"),
            ("tier", "web"),
            ("env", "prod")
        ])));
        assert_eq!(selector.requires_exact_match("app"), Some("shop"));
        assert_eq!(
            parse(&selector.to_string()).to_string(),
            selector.to_string()
        );
    }

    #[test]
    fn label_selector_errors_are_worded_like_upstream() {
        let none = BTreeMap::new();
        let check = |labels: &BTreeMap<String, String>, exprs: &[LabelSelectorRequirement]| {
            Selector::from_label_selector(labels, exprs).map_err(|e| e.to_string())
        };
        assert_eq!(
            check(&none, &[expr("a", "In", &[])]),
            Err("values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty".to_owned())
        );
        assert_eq!(
            check(&none, &[expr("a", "Exists", &["x"])]),
            Err("values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist".to_owned())
        );
        assert_eq!(
            check(&none, &[expr("a", "in", &["x"])]),
            Err("\"in\" is not a valid label selector operator".to_owned())
        );
        assert_eq!(
            check(&none, &[expr("a", "Gt", &["1"])]),
            Err("\"Gt\" is not a valid label selector operator".to_owned())
        );
        assert_eq!(
            check(&labels(&[("app", "-x")]), &[]),
            Err(format!(
                "values[0][app]: Invalid value: \"-x\": {VALUE_REGEX_MSG}"
            ))
        );
        assert_eq!(
            check(&labels(&[("bad key", "x")]), &[]),
            Err(format!(
                "key: Invalid value: \"bad key\": name part {NAME_REGEX_MSG}"
            ))
        );
    }

    #[test]
    fn bad_values_render_as_json_like_go() {
        let value = BadValue::List(vec!["a<b".into(), "q\"\n".into()]);
        assert_eq!(value.to_string(), "[\"a\\u003cb\",\"q\\\"\\n\"]");
    }

    #[test]
    fn from_set_builds_equality_requirements() {
        let selector = Selector::from_set(&labels(&[("b", "2"), ("a", "1")]));
        assert_eq!(selector.to_string(), "a=1,b=2");
        assert!(selector.matches(&labels(&[("a", "1"), ("b", "2"), ("c", "3")])));
        assert!(!selector.matches(&labels(&[("a", "1")])));
        assert!(Selector::from_set(&BTreeMap::new()).is_empty());
    }

    #[test]
    fn with_requirements_keeps_requirements_sorted_by_key() {
        let extra = match Requirement::new("a", Operator::NotIn, vec!["x".into()]) {
            Ok(req) => req,
            Err(err) => panic!("{err}"),
        };
        let selector = parse("c=1").with_requirements([extra]);
        assert_eq!(selector.to_string(), "a notin (x),c=1");
    }

    #[test]
    fn from_str_matches_parse() {
        assert_eq!("a=b".parse::<Selector>(), Selector::parse("a=b"));
    }
}

/// Glue to the wire type of `k8s-openapi`.
pub mod wire {
    use super::{LabelSelectorError, LabelSelectorRequirement, Selector};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

    /// Converts an API `LabelSelector` as upstream's `LabelSelectorAsSelector`
    /// does: an absent selector selects nothing, an empty one everything.
    pub fn selector_from_wire(
        selector: Option<&LabelSelector>,
    ) -> Result<Selector, LabelSelectorError> {
        let Some(selector) = selector else {
            return Ok(Selector::nothing());
        };
        let labels = selector.match_labels.clone().unwrap_or_default();
        let expressions: Vec<LabelSelectorRequirement> = selector
            .match_expressions
            .iter()
            .flatten()
            .map(|e| LabelSelectorRequirement {
                key: e.key.clone(),
                operator: e.operator.clone(),
                values: e.values.clone().unwrap_or_default(),
            })
            .collect();
        Selector::from_label_selector(&labels, &expressions)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement as Wire;
        use std::collections::BTreeMap;

        #[test]
        fn absent_selects_nothing_and_empty_selects_everything() {
            let none = selector_from_wire(None).expect("valid");
            assert!(!none.matches(&BTreeMap::new()));
            let empty = selector_from_wire(Some(&LabelSelector::default())).expect("valid");
            assert!(empty.matches(&BTreeMap::new()));
        }

        #[test]
        fn match_labels_and_expressions_combine() {
            let selector = LabelSelector {
                match_labels: Some(BTreeMap::from([("app".to_owned(), "web".to_owned())])),
                match_expressions: Some(vec![Wire {
                    key: "tier".into(),
                    operator: "In".into(),
                    values: Some(vec!["fe".into()]),
                }]),
            };
            let s = selector_from_wire(Some(&selector)).expect("valid");
            let labels = |t: &str| {
                BTreeMap::from([
                    ("app".to_owned(), "web".to_owned()),
                    ("tier".to_owned(), t.to_owned()),
                ])
            };
            assert!(s.matches(&labels("fe")));
            assert!(!s.matches(&labels("be")));
        }
    }
}
