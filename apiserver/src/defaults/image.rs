//! Image-reference parsing, just far enough to reproduce upstream's
//! `imagePullPolicy` default (kubernetes `pkg/util/parsers.ParseImageName`,
//! built on the docker reference grammar with docker.io normalisation).

/// The pull policy upstream defaults for `image`: `Always` when the parsed tag
/// is `latest` (including an untagged, undigested reference), otherwise
/// `IfNotPresent` (also for digest-only references and unparsable ones).
pub(super) fn default_pull_policy(image: &str) -> &'static str {
    match image_tag(image) {
        Some(tag) if tag == "latest" => "Always",
        _ => "IfNotPresent",
    }
}

/// The tag upstream's parser reports for `image`: the explicit tag if any,
/// `"latest"` when there is neither tag nor digest, `""` for a digest-only
/// reference, and `None` when the reference does not parse.
fn image_tag(image: &str) -> Option<String> {
    // A bare 64-hex string is an image ID, not a name.
    if image.len() == 64
        && image
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let (domain, remainder) = split_docker_domain(image);
    let remote_name = remainder.split(':').next().unwrap_or_default();
    if remote_name.to_lowercase() != remote_name {
        return None;
    }
    let full = format!("{domain}/{remainder}");

    let (name_and_tag, digest) = match full.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (full.as_str(), None),
    };
    let last_slash = name_and_tag.rfind('/');
    let (name, tag) = match name_and_tag.rfind(':') {
        Some(colon) if last_slash.is_none_or(|s| colon > s) => {
            (name_and_tag.get(..colon)?, name_and_tag.get(colon + 1..))
        }
        _ => (name_and_tag, None),
    };
    if !valid_name(name) {
        return None;
    }
    if let Some(t) = tag
        && !valid_tag(t)
    {
        return None;
    }
    if let Some(d) = digest
        && !valid_digest(d)
    {
        return None;
    }
    match (tag, digest) {
        (Some(t), _) => Some(t.to_owned()),
        (None, Some(_)) => Some(String::new()),
        (None, None) => Some("latest".to_owned()),
    }
}

/// Docker's domain split: the first path segment is a registry host only if it
/// looks like one (has `.` or `:`, is `localhost`, or has upper case).
fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first.to_owned(), rest.to_owned())
        }
        _ => ("docker.io".to_owned(), name.to_owned()),
    };
    if domain == "index.docker.io" {
        domain = "docker.io".to_owned();
    }
    if domain == "docker.io" && !remainder.contains('/') {
        remainder = format!("library/{remainder}");
    }
    (domain, remainder)
}

/// `[domain/]component(/component)*`, at most 255 characters.
fn valid_name(name: &str) -> bool {
    if name.len() > 255 {
        return false;
    }
    let mut segments = name.split('/');
    let Some(first) = segments.next() else {
        return false;
    };
    let rest: Vec<&str> = segments.collect();
    let first_ok = valid_component(first) || (!rest.is_empty() && valid_domain(first));
    first_ok && rest.iter().all(|s| valid_component(s))
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && b.get(i).copied().is_some_and(alnum) {
            i += 1;
        }
        if i == start {
            return false;
        }
        let Some(&sep) = b.get(i) else {
            return true;
        };
        match sep {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if b.get(i) == Some(&b'_') {
                    i += 1;
                }
            }
            b'-' => {
                while b.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// `host[:port]` where host is dot-separated DNS-ish labels or `[ipv6]`.
fn valid_domain(s: &str) -> bool {
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let Some((addr, after)) = inner.split_once(']') else {
            return false;
        };
        if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(p) => ("", Some(p)),
                None => return false,
            },
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    if s.starts_with('[') {
        return true;
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && b.first() != Some(&b'-')
                && b.last() != Some(&b'-')
        })
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    let word = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
    b.first().is_some_and(word)
        && b.len() <= 128
        && b.iter().all(|c| word(c) || *c == b'.' || *c == b'-')
}

/// A digest upstream accepts: a registered algorithm with the right number of
/// lowercase hex characters.
fn valid_digest(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    let want = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == want && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn untagged_and_latest_images_are_pulled_always() {
        for image in [
            "nginx",
            "nginx:latest",
            "library/nginx",
            "docker.io/nginx",
            "quay.io/org/app",
            "localhost:5000/app",
            "localhost/app:latest",
        ] {
            assert_eq!(default_pull_policy(image), "Always", "{image}");
        }
    }

    #[test]
    fn tagged_and_digested_images_are_pulled_if_not_present() {
        let digest_only = format!("nginx@{SHA}");
        let tag_and_digest = format!("nginx:1.25@{SHA}");
        let latest_and_digest = format!("nginx:latest@{SHA}");
        for image in [
            "nginx:1.25",
            "registry.k8s.io/pause:3.10",
            "host:5000/a/b:v1",
            &digest_only,
            &tag_and_digest,
        ] {
            assert_eq!(default_pull_policy(image), "IfNotPresent", "{image}");
        }
        assert_eq!(default_pull_policy(&latest_and_digest), "Always");
    }

    #[test]
    fn unparsable_images_are_pulled_if_not_present() {
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        for image in [
            "",
            "Nginx",
            "nginx:",
            "nginx@sha256:abc",
            "a..b",
            "nginx:tag with space",
            " nginx",
            id,
            "foo/Bar",
        ] {
            assert_eq!(default_pull_policy(image), "IfNotPresent", "{image:?}");
        }
    }

    #[test]
    fn upper_case_registry_host_is_allowed() {
        assert_eq!(default_pull_policy("Registry.Example.com/app"), "Always");
        assert_eq!(default_pull_policy("[::1]:5000/app:v2"), "IfNotPresent");
    }

    #[test]
    fn component_separators_follow_the_reference_grammar() {
        assert!(valid_component("a__b"));
        assert!(valid_component("a---b"));
        assert!(valid_component("a.b_c"));
        assert!(!valid_component("a___b"));
        assert!(!valid_component("a._b"));
        assert!(!valid_component("-a"));
        assert!(!valid_component("a-"));
    }
}
