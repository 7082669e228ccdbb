//! Field selectors with the semantics of Kubernetes field selectors.
//!
//! A field selector (`?fieldSelector=`) is a comma-separated AND of terms
//! `field=value`, `field==value` or `field!=value`. Field names are taken
//! literally (no trimming, no escaping: the first operator found splits the
//! term); in values, `\`, `,` and `=` must be escaped with a backslash
//! (see [`escape_value`] and [`unescape_value`]).
//!
//! Matching is done against the set of selectable field values of an object
//! (a map from field name, such as `metadata.name`, to its value); a field
//! missing from the map counts as the empty string.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Errors from parsing or checking a field selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum FieldSelectorError {
    /// A term has no `=`, `==` or `!=` operator.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    InvalidTerm {
        /// The whole selector string.
        selector: String,
        /// The term that could not be understood.
        term: String,
    },
    /// A value contains a backslash not followed by `\`, `,` or `=`.
    #[error("invalid field selector: invalid escape sequence: {0}")]
    InvalidEscapeSequence(String),
    /// A value contains an unescaped `,` or `=` (displayed as its code point number, like upstream).
    #[error("invalid field selector: unescaped character in value: {}", u32::from(*.0))]
    UnescapedCharacter(char),
    /// The selector uses a field the resource does not support.
    #[error("field label not supported: {0}")]
    UnsupportedField(String),
}

/// Escapes `\`, `,` and `=` in `value` with a backslash so it can be used as a
/// field selector value.
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Reverses [`escape_value`].
///
/// Fails on a backslash followed by anything other than `\`, `,` or `=`, on
/// a trailing lone backslash, and on an unescaped `,` or `=`.
pub fn unescape_value(escaped: &str) -> Result<String, FieldSelectorError> {
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next @ ('\\' | ',' | '=')) => out.push(next),
                Some(other) => {
                    return Err(FieldSelectorError::InvalidEscapeSequence(format!(
                        "\\{other}"
                    )));
                }
                None => return Err(FieldSelectorError::InvalidEscapeSequence("\\".to_owned())),
            },
            ',' | '=' => return Err(FieldSelectorError::UnescapedCharacter(c)),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// How a [`FieldRequirement`] compares a field with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldOperator {
    /// `field=value` or `field==value`: the field equals the value.
    Equals,
    /// `field!=value`: the field differs from the value.
    NotEquals,
}

/// One term of a [`FieldSelector`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRequirement {
    /// The field name, such as `metadata.name` or `spec.nodeName`.
    pub field: String,
    /// The comparison.
    pub operator: FieldOperator,
    /// The (unescaped) value to compare with.
    pub value: String,
}

impl FieldRequirement {
    /// Whether `fields` satisfies this term; a missing field counts as the empty string.
    pub fn matches(&self, fields: &BTreeMap<String, String>) -> bool {
        let actual = fields.get(&self.field).map_or("", String::as_str);
        match self.operator {
            FieldOperator::Equals => actual == self.value,
            FieldOperator::NotEquals => actual != self.value,
        }
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        };
        write!(f, "{}{op}{}", self.field, escape_value(&self.value))
    }
}

/// A field selector: an AND of [`FieldRequirement`]s.
///
/// The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// A selector with no terms, matching everything.
    pub fn everything() -> Self {
        FieldSelector::default()
    }

    /// Parses a field selector string.
    ///
    /// Terms are separated by unescaped commas; empty terms are skipped and
    /// terms are ordered by their raw text (so equivalent selectors display
    /// identically). `==` is read as `=`. A term whose field and value are
    /// both empty (`=`) is dropped. Field names and values are not trimmed.
    pub fn parse(input: &str) -> Result<Self, FieldSelectorError> {
        let mut terms = split_terms(input);
        terms.sort_unstable();
        let mut requirements = Vec::with_capacity(terms.len());
        for term in terms.into_iter().filter(|t| !t.is_empty()) {
            let Some((field, operator, raw_value)) = split_term(term) else {
                return Err(FieldSelectorError::InvalidTerm {
                    selector: input.to_owned(),
                    term: term.to_owned(),
                });
            };
            let value = unescape_value(raw_value)?;
            if field.is_empty() && value.is_empty() {
                continue;
            }
            requirements.push(FieldRequirement {
                field: field.to_owned(),
                operator,
                value,
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// A selector requiring each field of `set` to equal its value, in key order.
    pub fn from_set(set: &BTreeMap<String, String>) -> Self {
        FieldSelector {
            requirements: set
                .iter()
                .map(|(field, value)| FieldRequirement {
                    field: field.clone(),
                    operator: FieldOperator::Equals,
                    value: value.clone(),
                })
                .collect(),
        }
    }

    /// Whether every term matches `fields` (a missing field counts as the empty string).
    pub fn matches(&self, fields: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(fields))
    }

    /// Whether the selector has no terms and so matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The terms of the selector, in order.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// The value `field` must equal, from the first `=` term on it, if any.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.operator == FieldOperator::Equals && r.field == field)
            .map(|r| r.value.as_str())
    }

    /// The field names used by the selector, in term order (repeats included).
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.requirements.iter().map(|r| r.field.as_str())
    }

    /// Checks that every field used is in `supported`, failing with
    /// [`FieldSelectorError::UnsupportedField`] (`field label not supported: <name>`)
    /// for the first one that is not.
    pub fn check_supported_fields(&self, supported: &[&str]) -> Result<(), FieldSelectorError> {
        match self.field_names().find(|name| !supported.contains(name)) {
            Some(name) => Err(FieldSelectorError::UnsupportedField(name.to_owned())),
            None => Ok(()),
        }
    }

    /// Rewrites every term's field and value with `f` (for example to map a
    /// versioned field name to an internal one, or to reject unknown fields).
    ///
    /// A term that `f` turns into an empty field and an empty value is
    /// dropped. The first error returned by `f` is returned.
    pub fn transform<F, E>(&self, mut f: F) -> Result<FieldSelector, E>
    where
        F: FnMut(&str, &str) -> Result<(String, String), E>,
    {
        let mut requirements = Vec::with_capacity(self.requirements.len());
        for req in &self.requirements {
            let (field, value) = f(&req.field, &req.value)?;
            if field.is_empty() && value.is_empty() {
                continue;
            }
            requirements.push(FieldRequirement {
                field,
                operator: req.operator,
                value,
            });
        }
        Ok(FieldSelector { requirements })
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, req) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{req}")?;
        }
        Ok(())
    }
}

impl FromStr for FieldSelector {
    type Err = FieldSelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldSelector::parse(s)
    }
}

/// Splits on commas not preceded by an escaping backslash; escapes are kept.
fn split_terms(input: &str) -> Vec<&str> {
    if input.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in input.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push(input.get(start..i).unwrap_or_default());
            start = i + 1;
        }
    }
    terms.push(input.get(start..).unwrap_or_default());
    terms
}

/// Splits a term at the first operator (`!=`, then `==`, then `=` at each position).
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    const OPERATORS: [(&str, FieldOperator); 3] = [
        ("!=", FieldOperator::NotEquals),
        ("==", FieldOperator::Equals),
        ("=", FieldOperator::Equals),
    ];
    term.char_indices().find_map(|(i, _)| {
        let (field, rest) = term.split_at_checked(i)?;
        OPERATORS
            .iter()
            .find_map(|(token, op)| rest.strip_prefix(token).map(|value| (field, *op, value)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn parse(input: &str) -> FieldSelector {
        match FieldSelector::parse(input) {
            Ok(selector) => selector,
            Err(err) => panic!("{input:?} should parse: {err}"),
        }
    }

    fn parse_err(input: &str) -> String {
        match FieldSelector::parse(input) {
            Ok(selector) => panic!("{input:?} should not parse, got {selector}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn empty_selector_matches_everything() {
        for input in ["", ",", ",,,", "=", "==", "=,=="] {
            let selector = parse(input);
            assert!(selector.is_empty(), "input {input:?}");
            assert!(selector.matches(&fields(&[("a", "b")])));
            assert_eq!(selector.to_string(), "");
        }
        assert_eq!(FieldSelector::everything(), parse(""));
    }

    #[test]
    fn canonical_selectors_round_trip_exactly() {
        for input in [
            "x=a,y=b,z=c",
            "x!=a,y=b",
            r"x=a||y\=b",
            r"x=a\=\=b",
            "함=수",
        ] {
            assert_eq!(parse(input).to_string(), input);
        }
    }

    #[test]
    fn terms_are_sorted_and_double_equals_displays_as_equals() {
        assert_eq!(parse("b==1,a!=2").to_string(), "a!=2,b=1");
        assert_eq!(parse("x=a,a=x").to_string(), parse("a=x,x=a").to_string());
    }

    #[test]
    fn empty_terms_and_trailing_commas_are_ignored() {
        assert_eq!(parse("a=b,").to_string(), "a=b");
        assert_eq!(parse(",a=b,,c=d,").to_string(), "a=b,c=d");
    }

    #[test]
    fn blanks_are_part_of_field_names_and_values() {
        let selector = parse("a = b");
        assert_eq!(selector.requirements()[0].field, "a ");
        assert_eq!(selector.requirements()[0].value, " b");
        assert_eq!(selector.to_string(), "a = b");
    }

    #[test]
    fn terms_without_an_operator_are_rejected() {
        assert_eq!(
            parse_err("x"),
            "invalid selector: 'x'; can't understand 'x'"
        );
        assert_eq!(
            parse_err("b=1,x in (a)"),
            "invalid selector: 'b=1,x in (a)'; can't understand 'x in (a)'"
        );
        assert_eq!(
            parse_err("x=a,b"),
            "invalid selector: 'x=a,b'; can't understand 'b'"
        );
    }

    #[test]
    fn unescaped_special_characters_in_values_are_rejected() {
        assert_eq!(
            parse_err("x=a||y=b"),
            "invalid field selector: unescaped character in value: 61"
        );
        assert_eq!(
            parse_err("x==a==b"),
            "invalid field selector: unescaped character in value: 61"
        );
        assert_eq!(
            unescape_value("a,b").map_err(|e| e.to_string()),
            Err("invalid field selector: unescaped character in value: 44".to_owned())
        );
    }

    #[test]
    fn invalid_escape_sequences_are_rejected() {
        assert_eq!(
            parse_err(r"k=\a"),
            r"invalid field selector: invalid escape sequence: \a"
        );
        assert_eq!(
            parse_err(r"k=\"),
            r"invalid field selector: invalid escape sequence: \"
        );
        assert_eq!(
            unescape_value(r"\\\"),
            Err(FieldSelectorError::InvalidEscapeSequence(r"\".to_owned()))
        );
        assert_eq!(
            parse_err(r"k=a\!b"),
            r"invalid field selector: invalid escape sequence: \!"
        );
    }

    #[test]
    fn escaped_values_are_unescaped_and_re_escaped() {
        let selector = parse(r"a=x\,y,b=p\=q\\r");
        assert_eq!(selector.requires_exact_match("a"), Some("x,y"));
        assert_eq!(selector.requires_exact_match("b"), Some(r"p=q\r"));
        assert_eq!(selector.to_string(), r"a=x\,y,b=p\=q\\r");
        assert!(selector.matches(&fields(&[("a", "x,y"), ("b", r"p=q\r")])));
    }

    #[test]
    fn escape_and_unescape_are_inverse() {
        for (raw, escaped) in [
            ("", ""),
            ("a", "a"),
            ("=", r"\="),
            (",", r"\,"),
            (r"\", r"\\"),
            (r"\=\,\", r"\\\=\\\,\\"),
        ] {
            assert_eq!(escape_value(raw), escaped);
            assert_eq!(unescape_value(escaped), Ok(raw.to_owned()));
        }
    }

    #[test]
    fn split_terms_keeps_escaped_commas() {
        assert_eq!(split_terms(r"k=\,,k2=v2"), [r"k=\,", "k2=v2"]);
        assert_eq!(split_terms(r"k=\\,k2=v2"), [r"k=\\", "k2=v2"]);
        assert_eq!(split_terms(r"k=\\\,,k2=v2"), [r"k=\\\,", "k2=v2"]);
        assert_eq!(split_terms("a=a,"), ["a=a", ""]);
        assert!(split_terms("").is_empty());
        assert_eq!(split_terms("함=수,목=록"), ["함=수", "목=록"]);
    }

    #[test]
    fn split_term_uses_the_first_operator() {
        assert_eq!(
            split_term("c!=v"),
            Some(("c", FieldOperator::NotEquals, "v"))
        );
        assert_eq!(split_term("b==v"), Some(("b", FieldOperator::Equals, "v")));
        assert_eq!(
            split_term(r"k=\=x"),
            Some(("k", FieldOperator::Equals, r"\=x"))
        );
        assert_eq!(
            split_term(r"a\!=b"),
            Some((r"a\", FieldOperator::NotEquals, "b"))
        );
        assert_eq!(split_term("a"), None);
        assert_eq!(split_term(""), None);
    }

    #[test]
    fn equals_treats_missing_fields_as_empty() {
        assert!(parse("a=b").matches(&fields(&[("a", "b")])));
        assert!(!parse("a=b").matches(&fields(&[("a", "c")])));
        assert!(!parse("a=b").matches(&BTreeMap::new()));
        assert!(parse("a=").matches(&BTreeMap::new()));
        assert!(parse("a==b,c=d").matches(&fields(&[("a", "b"), ("c", "d")])));
    }

    #[test]
    fn not_equals_matches_missing_fields() {
        assert!(parse("a!=b").matches(&BTreeMap::new()));
        assert!(parse("a!=b").matches(&fields(&[("a", "c")])));
        assert!(!parse("a!=b").matches(&fields(&[("a", "b")])));
        assert!(!parse("a!=").matches(&BTreeMap::new()));
    }

    #[test]
    fn requires_exact_match_ignores_not_equals() {
        let selector = parse("metadata.name!=x,metadata.name=y,spec.nodeName=n1");
        assert_eq!(selector.requires_exact_match("metadata.name"), Some("y"));
        assert_eq!(selector.requires_exact_match("spec.nodeName"), Some("n1"));
        assert_eq!(parse("a!=b").requires_exact_match("a"), None);
        assert_eq!(parse("").requires_exact_match("a"), None);
    }

    #[test]
    fn duplicate_fields_are_all_kept() {
        let selector = parse("a=1,a=2");
        assert_eq!(selector.to_string(), "a=1,a=2");
        assert!(!selector.matches(&fields(&[("a", "1")])));
        assert_eq!(selector.field_names().collect::<Vec<_>>(), ["a", "a"]);
    }

    #[test]
    fn unsupported_fields_are_reported_by_name() {
        let selector = parse("metadata.name=a,spec.foo=b");
        assert_eq!(
            selector.field_names().collect::<Vec<_>>(),
            ["metadata.name", "spec.foo"]
        );
        assert_eq!(
            selector
                .check_supported_fields(&["metadata.name", "metadata.namespace"])
                .map_err(|e| e.to_string()),
            Err("field label not supported: spec.foo".to_owned())
        );
        assert_eq!(
            selector.check_supported_fields(&["metadata.name", "spec.foo"]),
            Ok(())
        );
    }

    #[test]
    fn transform_renames_fields_and_drops_emptied_terms() {
        let selector = parse("name=web,drop=,status.phase!=Failed");
        let renamed = selector.transform(|field, value| -> Result<_, FieldSelectorError> {
            Ok(match field {
                "name" => ("metadata.name".to_owned(), value.to_owned()),
                "drop" => (String::new(), String::new()),
                _ => (field.to_owned(), value.to_owned()),
            })
        });
        let renamed = match renamed {
            Ok(selector) => selector,
            Err(err) => panic!("{err}"),
        };
        assert_eq!(
            renamed.to_string(),
            "metadata.name=web,status.phase!=Failed"
        );
        assert_eq!(renamed.requirements()[1].operator, FieldOperator::NotEquals);
    }

    #[test]
    fn transform_propagates_the_first_error() {
        let result = parse("a=1,b=2").transform(|field, _| {
            Err::<(String, String), _>(FieldSelectorError::UnsupportedField(field.to_owned()))
        });
        assert_eq!(
            result,
            Err(FieldSelectorError::UnsupportedField("a".to_owned()))
        );
    }

    #[test]
    fn from_set_requires_every_field() {
        let selector = FieldSelector::from_set(&fields(&[("b", "x,y"), ("a", "1")]));
        assert_eq!(selector.to_string(), r"a=1,b=x\,y");
        assert!(selector.matches(&fields(&[("a", "1"), ("b", "x,y")])));
        assert!(!selector.matches(&fields(&[("a", "1")])));
        assert_eq!(parse(&selector.to_string()), selector);
    }

    #[test]
    fn from_str_matches_parse() {
        assert_eq!("a=b".parse::<FieldSelector>(), FieldSelector::parse("a=b"));
    }
}
