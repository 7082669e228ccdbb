//! Stable synthetic identifiers (container IDs, image digests, machine IDs)
//! derived by hashing, and timestamp truncation.

use std::hash::{DefaultHasher, Hash, Hasher};

/// `len` lowercase hex digits derived from `parts` (the same parts always
/// give the same digits).
pub fn hex(parts: &[&str], len: usize) -> String {
    let mut out = String::with_capacity(len + 16);
    let mut round: u64 = 0;
    while out.len() < len {
        let mut hasher = DefaultHasher::new();
        round.hash(&mut hasher);
        parts.hash(&mut hasher);
        out.push_str(&format!("{:016x}", hasher.finish()));
        round += 1;
    }
    out.truncate(len);
    out
}

/// A UUID-shaped identifier derived from `parts`.
pub fn uuid_like(parts: &[&str]) -> String {
    let h = hex(parts, 32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The containerID of one run of a container.
pub fn container_id(pod_uid: &str, container: &str, run: i32) -> String {
    format!(
        "containerd://{}",
        hex(&[pod_uid, container, &run.to_string()], 64)
    )
}

/// The imageID reported for `image`: its own digest when it names one,
/// otherwise a digest hashed from the name.
pub fn image_id(image: &str) -> String {
    if image.contains("@sha256:") {
        format!("docker-pullable://{image}")
    } else {
        format!("docker-pullable://{image}@sha256:{}", hex(&[image], 64))
    }
}

/// `ts` without its fraction of a second (what the API keeps of a `Time`).
pub fn truncate(ts: jiff::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_second(ts.as_second()).unwrap_or(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_shaped() {
        let a = container_id("uid", "c", 0);
        assert_eq!(a, container_id("uid", "c", 0));
        assert_ne!(a, container_id("uid", "c", 1));
        assert_eq!(a.len(), "containerd://".len() + 64);
        let image = image_id("nginx:1.27");
        assert!(image.starts_with("docker-pullable://nginx:1.27@sha256:"));
        assert_eq!(
            image.len(),
            "docker-pullable://nginx:1.27@sha256:".len() + 64
        );
        assert_eq!(image_id("x@sha256:ab"), "docker-pullable://x@sha256:ab");
        assert_eq!(uuid_like(&["a"]).len(), 36);
    }
}
