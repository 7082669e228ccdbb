//! String-format checks from apimachinery's `pkg/util/validation` and
//! `pkg/api/validate/content`: DNS-1123 labels and subdomains, DNS-1035
//! labels, qualified names (label keys), label values, port names, env var
//! names, config keys, IPs and CIDRs. Each `is_*` returns upstream's list of
//! messages (empty when valid).

use std::net::{IpAddr, Ipv4Addr};

use serde_json::Value;

use super::access::{Errs, Path};

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERR: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_ERR: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const CONFIG_KEY_FMT: &str = "[-._a-zA-Z0-9]+";
const CONFIG_KEY_ERR: &str =
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";
const ENV_VAR_FMT: &str = "[-._a-zA-Z][-._a-zA-Z0-9]*";
const ENV_VAR_ERR: &str = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit";
const RELAXED_ENV_VAR_ERR: &str = "a valid environment variable name must consist only of printable ASCII characters other than '='";
const PERCENT_FMT: &str = "[0-9]+%";
const PERCENT_ERR: &str =
    "a valid percent string must be a numeric string followed by an ending '%'";
const HTTP_HEADER_FMT: &str = "[-A-Za-z0-9]+";
const HTTP_HEADER_ERR: &str = "a valid HTTP header must consist of alphanumeric characters or '-'";

/// Maximum length of a DNS-1123 label.
pub const DNS1123_LABEL_MAX: usize = 63;
/// Maximum length of a DNS-1123 subdomain.
pub const DNS1123_SUBDOMAIN_MAX: usize = 253;

/// `MaxLenError`.
pub fn max_len_chars(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// `RegexError`: a message, optional examples, and the regex.
pub fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let ex: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{msg} (e.g. {}regex used for validation is '{fmt}')",
        ex.join(" or ")
    )
}

/// `InclusiveRangeError`.
pub fn inclusive_range_error(lo: i64, hi: i64) -> String {
    format!("must be between {lo} and {hi}, inclusive")
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// Whether `s` matches `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
fn matches_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            is_lower_alnum(f)
                && is_lower_alnum(l)
                && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
        }
        _ => false,
    }
}

/// Whether `s` matches the DNS-1123 subdomain regex (ignoring length).
fn matches_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(matches_dns_label)
}

/// `IsDNS1123Label`.
pub fn is_dns1123_label(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if v.len() > DNS1123_LABEL_MAX {
        errs.push(max_len_chars(DNS1123_LABEL_MAX));
    }
    if !matches_dns_label(v) {
        if matches_dns_subdomain(v) {
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(regex_error(
                DNS1123_LABEL_ERR,
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

/// `IsDNS1123Subdomain`.
pub fn is_dns1123_subdomain(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if v.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_chars(DNS1123_SUBDOMAIN_MAX));
    }
    if !matches_dns_subdomain(v) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// `IsDNS1035Label`.
pub fn is_dns1035_label(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if v.len() > DNS1123_LABEL_MAX {
        errs.push(max_len_chars(DNS1123_LABEL_MAX));
    }
    let ok = matches_dns_label(v) && v.as_bytes().first().is_some_and(|b| b.is_ascii_lowercase());
    if !ok {
        errs.push(regex_error(
            DNS1035_LABEL_ERR,
            DNS1035_LABEL_FMT,
            &["my-name", "abc-123"],
        ));
    }
    errs
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Whether `s` matches `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
fn matches_label_key_name(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            is_alnum(f)
                && is_alnum(l)
                && b.iter()
                    .all(|&c| is_alnum(c) || c == b'-' || c == b'_' || c == b'.')
        }
        _ => false,
    }
}

/// `IsQualifiedName`: an optional DNS subdomain prefix and `/`,
/// then a name of at most 63 characters.
pub fn is_qualified_name(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = v.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                for m in is_dns1123_subdomain(prefix) {
                    errs.push(format!("prefix part {m}"));
                }
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(LABEL_KEY_ERR, LABEL_KEY_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push(format!("name part {}", max_len_chars(63)));
    }
    if !matches_label_key_name(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                LABEL_KEY_ERR,
                LABEL_KEY_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// `IsValidLabelValue`.
pub fn is_label_value(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if v.len() > 63 {
        errs.push(max_len_chars(63));
    }
    if !v.is_empty() && !matches_label_key_name(v) {
        errs.push(regex_error(
            LABEL_VALUE_ERR,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// `IsValidPortName` (IANA_SVC_NAME).
pub fn is_valid_port_name(port: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if port.len() > 15 {
        errs.push(max_len_chars(15));
    }
    if port.is_empty() || !port.bytes().all(|b| is_lower_alnum(b) || b == b'-') {
        errs.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string(),
        );
    }
    if !port.bytes().any(|b| b.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_string());
    }
    if port.contains("--") {
        errs.push("must not contain consecutive hyphens".to_string());
    }
    if port.starts_with('-') || port.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_string());
    }
    errs
}

/// `IsValidPortNum`.
pub fn is_valid_port_num(port: i64) -> Vec<String> {
    if (1..=65535).contains(&port) {
        Vec::new()
    } else {
        vec![inclusive_range_error(1, 65535)]
    }
}

/// `IsValidPercent`.
pub fn is_valid_percent(s: &str) -> Vec<String> {
    let ok = s
        .strip_suffix('%')
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Vec::new()
    } else {
        vec![regex_error(PERCENT_ERR, PERCENT_FMT, &["1%", "93%"])]
    }
}

/// `IsHTTPHeaderName`.
pub fn is_http_header_name(s: &str) -> Vec<String> {
    let ok = !s.is_empty() && s.bytes().all(|b| is_alnum(b) || b == b'-');
    if ok {
        Vec::new()
    } else {
        vec![regex_error(
            HTTP_HEADER_ERR,
            HTTP_HEADER_FMT,
            &["X-Header-Name"],
        )]
    }
}

fn has_chdir_prefix(v: &str) -> Option<String> {
    if v == "." {
        Some("must not be '.'".to_string())
    } else if v == ".." {
        Some("must not be '..'".to_string())
    } else if v.starts_with("..") {
        Some("must not start with '..'".to_string())
    } else {
        None
    }
}

/// `IsEnvVarName` (the strict, pre-1.30 rule).
pub fn is_env_var_name(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let b = v.as_bytes();
    let ok = b
        .first()
        .is_some_and(|&f| f.is_ascii_alphabetic() || f == b'-' || f == b'.' || f == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_');
    if !ok {
        errs.push(regex_error(
            ENV_VAR_ERR,
            ENV_VAR_FMT,
            &["my.env-name", "MY_ENV.NAME", "MyEnvName1"],
        ));
    }
    errs.extend(has_chdir_prefix(v));
    errs
}

/// `IsRelaxedEnvVarName`: printable ASCII other than `=` (GA upstream, so
/// this is what env var names and prefixes are checked with).
pub fn is_relaxed_env_var_name(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if v.is_empty() {
        errs.push("environment variable name must be non-empty".to_string());
    }
    if v.chars().any(|c| !(' '..='~').contains(&c) || c == '=') {
        errs.push(RELAXED_ENV_VAR_ERR.to_string());
    }
    errs
}

/// `IsConfigMapKey`.
pub fn is_config_map_key(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if v.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_chars(DNS1123_SUBDOMAIN_MAX));
    }
    let ok = !v.is_empty()
        && v.bytes()
            .all(|b| is_alnum(b) || b == b'-' || b == b'.' || b == b'_');
    if !ok {
        errs.push(regex_error(
            CONFIG_KEY_ERR,
            CONFIG_KEY_FMT,
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    errs.extend(has_chdir_prefix(v));
    errs
}

/// `IsValidPathSegmentName`.
pub fn is_path_segment_name(v: &str) -> Vec<String> {
    if v == "." || v == ".." {
        return vec![format!("may not be '{v}'")];
    }
    is_path_segment_prefix(v)
}

/// `IsValidPathSegmentPrefix`.
pub fn is_path_segment_prefix(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    for bad in ["/", "%"] {
        if v.contains(bad) {
            errs.push(format!("may not contain '{bad}'"));
        }
    }
    errs
}

/// How a kind's `metadata.name` is validated (upstream's `ValidateNameFunc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// `NameIsDNSSubdomain`.
    Subdomain,
    /// `NameIsDNSLabel`.
    Label,
    /// `NameIsDNS1035Label`.
    Dns1035,
    /// `path.ValidatePathSegmentName`.
    PathSegment,
}

/// `maskTrailingDash`: replaces a trailing `-` of a prefix so it validates
/// (including upstream's off-by-one that drops the character before it).
fn mask_trailing_dash(name: &str) -> String {
    let b = name.as_bytes();
    if b.len() > 1 && name.ends_with('-') {
        let head = b.get(..b.len() - 2).unwrap_or(&[]);
        format!("{}a", String::from_utf8_lossy(head))
    } else {
        name.to_string()
    }
}

/// Runs a name rule; `prefix` is true for `generateName`.
pub fn validate_name(rule: NameRule, name: &str, prefix: bool) -> Vec<String> {
    match rule {
        NameRule::PathSegment => {
            if prefix {
                is_path_segment_prefix(name)
            } else {
                is_path_segment_name(name)
            }
        }
        _ => {
            let n = if prefix {
                mask_trailing_dash(name)
            } else {
                name.to_string()
            };
            match rule {
                NameRule::Label => is_dns1123_label(&n),
                NameRule::Dns1035 => is_dns1035_label(&n),
                _ => is_dns1123_subdomain(&n),
            }
        }
    }
}

/// Pushes one `Invalid` per message.
pub(crate) fn push_msgs(e: &mut Errs, p: &Path, value: &str, msgs: Vec<String>) {
    for m in msgs {
        e.invalid(p, Value::from(value), &m);
    }
}

/// `ValidateDNS1123Label` as field errors.
pub(crate) fn dns_label(e: &mut Errs, p: &Path, v: &str) {
    push_msgs(e, p, v, is_dns1123_label(v));
}

/// `ValidateDNS1123Subdomain` as field errors.
pub(crate) fn dns_subdomain(e: &mut Errs, p: &Path, v: &str) {
    push_msgs(e, p, v, is_dns1123_subdomain(v));
}

/// `ValidateQualifiedName` / `ValidateLabelName` as field errors.
pub(crate) fn qualified_name(e: &mut Errs, p: &Path, v: &str) {
    push_msgs(e, p, v, is_qualified_name(v));
}

/// Go's `net.ParseIP` leniency: IPv4 with leading zeros.
fn parse_ipv4_sloppy(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u16 = p.parse().ok()?;
        *octets.get_mut(i)? = u8::try_from(n).ok()?;
    }
    Some(Ipv4Addr::from(octets))
}

/// Parses an IP as Go's sloppy parser would; `None` when unparseable.
pub(crate) fn parse_ip_sloppy(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    parse_ipv4_sloppy(s).map(IpAddr::V4)
}

/// `IsValidIPForLegacyField` as Kubernetes 1.33 runs it (the
/// `StrictIPCIDRValidation` gate is off): any address Go's sloppy parser
/// accepts is valid.
pub(crate) fn validate_ip(e: &mut Errs, p: &Path, value: &str) {
    if parse_ip_sloppy(value).is_none() {
        e.invalid(
            p,
            Value::from(value),
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        );
    }
}

/// `IsValidCIDRForLegacyField` as Kubernetes 1.33 runs it (not strict).
pub(crate) fn validate_cidr(e: &mut Errs, p: &Path, value: &str) {
    let ok = value.split_once('/').is_some_and(|(addr, bits)| {
        let max = match parse_ip_sloppy(addr) {
            Some(IpAddr::V4(_)) => 32,
            Some(IpAddr::V6(_)) => 128,
            None => return false,
        };
        !bits.is_empty()
            && bits.len() <= 3
            && bits.bytes().all(|b| b.is_ascii_digit())
            && bits.parse::<u32>().is_ok_and(|b| b <= max)
    });
    if !ok {
        e.invalid(
            p,
            Value::from(value),
            "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
        );
    }
}

/// `IsFullyQualifiedDomainName`.
pub(crate) fn validate_fqdn(e: &mut Errs, p: &Path, name: &str) {
    if name.is_empty() {
        e.required(p, "");
        return;
    }
    let n = name.strip_suffix('.').unwrap_or(name);
    let errs = is_dns1123_subdomain(n);
    if !errs.is_empty() {
        e.invalid(p, Value::from(n), &errs.join(","));
        return;
    }
    if n.split('.').count() < 2 {
        e.invalid(
            p,
            Value::from(n),
            "should be a domain with at least two segments separated by dots",
        );
        return;
    }
    for label in n.split('.') {
        let errs = is_dns1123_label(label);
        if !errs.is_empty() {
            e.invalid(p, Value::from(label), &errs.join(","));
            return;
        }
    }
}

/// `IsDomainPrefixedPath`.
pub(crate) fn validate_domain_prefixed_path(e: &mut Errs, p: &Path, v: &str) {
    if v.is_empty() {
        e.required(p, "");
        return;
    }
    let Some((host, path)) = v
        .split_once('/')
        .filter(|(h, rest)| !h.is_empty() && !rest.is_empty())
    else {
        e.invalid(
            p,
            Value::from(v),
            "must be a domain-prefixed path (such as \"acme.io/foo\")",
        );
        return;
    };
    for m in is_dns1123_subdomain(host) {
        e.invalid(p, Value::from(host), &m);
    }
    let ok = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-._~%!$&'()*+,;=:".contains(&b));
    if !ok {
        e.invalid(
            p,
            Value::from(path),
            &regex_error("Invalid path", "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+", &[]),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_label_accepts_lowercase_and_rejects_dots_and_caps() {
        assert!(is_dns1123_label("my-name").is_empty());
        assert_eq!(
            is_dns1123_label("a.b"),
            vec!["must not contain dots".to_string()]
        );
        assert_eq!(
            is_dns1123_label("Foo"),
            vec!["a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')".to_string()]
        );
        assert_eq!(
            is_dns1123_label(&"a".repeat(64))[0],
            "must be no more than 63 characters"
        );
    }

    #[test]
    fn dns_subdomain_message_matches_upstream() {
        assert!(is_dns1123_subdomain("example.com").is_empty());
        assert_eq!(
            is_dns1123_subdomain("Foo"),
            vec!["a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string()]
        );
        assert!(!is_dns1123_subdomain("a..b").is_empty());
        assert!(!is_dns1123_subdomain("").is_empty());
    }

    #[test]
    fn dns1035_requires_leading_letter() {
        assert!(is_dns1035_label("web").is_empty());
        assert!(!is_dns1035_label("1web").is_empty());
    }

    #[test]
    fn qualified_names_allow_prefix() {
        assert!(is_qualified_name("app.kubernetes.io/name").is_empty());
        assert!(is_qualified_name("MyName").is_empty());
        assert_eq!(
            is_qualified_name("/a"),
            vec!["prefix part must be non-empty".to_string()]
        );
        assert_eq!(is_qualified_name("a/b/c").len(), 1);
        assert!(is_qualified_name("-a")[0].starts_with("name part must consist of"));
    }

    #[test]
    fn label_values_allow_empty_and_reject_spaces() {
        assert!(is_label_value("").is_empty());
        assert!(is_label_value("my_value").is_empty());
        assert_eq!(
            is_label_value("a b"),
            vec!["a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".to_string()]
        );
        assert_eq!(
            is_label_value(&"a".repeat(64))[0],
            "must be no more than 63 characters"
        );
    }

    #[test]
    fn port_names_follow_iana_rules() {
        assert!(is_valid_port_name("http").is_empty());
        assert!(!is_valid_port_name("HTTP").is_empty());
        assert!(!is_valid_port_name("123").is_empty());
        assert_eq!(
            is_valid_port_name("a-very-long-port-name")[0],
            "must be no more than 15 characters"
        );
    }

    #[test]
    fn generate_name_prefix_may_end_in_dash() {
        assert!(validate_name(NameRule::Subdomain, "web-", true).is_empty());
        assert!(!validate_name(NameRule::Subdomain, "web-", false).is_empty());
        assert!(validate_name(NameRule::Subdomain, "é-", true).len() == 1);
    }

    #[test]
    fn config_keys_reject_slashes_and_dot_prefixes() {
        assert!(is_config_map_key("app.properties").is_empty());
        assert!(!is_config_map_key("a/b").is_empty());
        assert_eq!(
            is_config_map_key(".."),
            vec!["must not be '..'".to_string()]
        );
    }

    #[test]
    fn ips_are_parsed_leniently_like_legacy_fields() {
        let mut e = Errs::new();
        validate_ip(&mut e, &Path::root("ip"), "10.0.0.1");
        validate_ip(&mut e, &Path::root("ip"), "010.0.0.1");
        validate_ip(&mut e, &Path::root("ip"), "2001:DB8::1");
        validate_ip(&mut e, &Path::root("ip"), "nope");
        let msgs: Vec<String> = e.list.iter().map(|x| x.to_string()).collect();
        assert_eq!(msgs, vec!["ip: Invalid value: \"nope\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)".to_string()]);
    }

    #[test]
    fn cidrs_need_address_and_prefix() {
        let mut e = Errs::new();
        validate_cidr(&mut e, &Path::root("c"), "10.0.0.0/8");
        validate_cidr(&mut e, &Path::root("c"), "10.0.0.0/33");
        validate_cidr(&mut e, &Path::root("c"), "x");
        assert_eq!(e.len(), 2);
        assert_eq!(
            e.list[0].detail,
            "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
        );
    }
}
