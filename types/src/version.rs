//! The Kubernetes release Bosun implements, and the user agents its
//! components send, as upstream's components build theirs.

/// The Kubernetes release whose API Bosun implements.
pub const KUBERNETES_MAJOR: &str = "1";
/// Its minor version: kubectl's version dispatcher picks the client by it.
pub const KUBERNETES_MINOR: &str = "33";
/// The full version string.
pub const KUBERNETES_GIT_VERSION: &str = "v1.33.0";

/// Go's name for this machine's architecture.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The `User-Agent` of a component, as client-go builds it
/// (`kube-scheduler/v1.33.0 (linux/amd64) kubernetes/bosun`). The
/// apiserver names a writer's managedFields entry after its first part
/// when the request names no field manager, so writes of the scheduler
/// are `kube-scheduler`'s, as upstream.
pub fn user_agent(component: &str) -> String {
    format!(
        "{component}/{KUBERNETES_GIT_VERSION} ({}/{}) kubernetes/bosun",
        std::env::consts::OS,
        go_arch()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_start_with_the_component() {
        let agent = user_agent("kube-controller-manager");
        assert!(
            agent.starts_with("kube-controller-manager/v1.33.0 ("),
            "{agent}"
        );
        assert!(agent.ends_with(") kubernetes/bosun"), "{agent}");
    }
}
