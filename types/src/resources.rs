//! The built-in Kubernetes API resources Bosun serves, with the values upstream
//! kube-apiserver v1.33 (default feature gates) publishes in its discovery
//! documents: `/api/v1`, `/apis/<group>/<version>`, the aggregated
//! `APIGroupDiscoveryList`, and `kubectl api-resources -o wide`.
//!
//! Everything here is static data plus small lookups:
//!
//! * [`RESOURCES`]: one [`ResourceInfo`] per served group/version/resource, in
//!   upstream discovery order (core first, then groups by priority, versions by
//!   priority, resources sorted by plural name within a group/version). Because
//!   the order matches upstream, the first match of a lookup is the one kubectl
//!   would pick (for example `ev` resolves to core `events`, `hpa` to
//!   `autoscaling/v2`).
//! * [`GROUPS`]: the API groups in upstream order, with their versions, the
//!   preferred version, and the `APIService` priorities upstream registers.
//! * [`StorageInfo`]: where a resource's objects live. Several served resources
//!   can share one storage location: core `events` and `events.k8s.io/v1`
//!   `events` are the same objects, and so are `autoscaling/v1` and
//!   `autoscaling/v2` `horizontalpodautoscalers`.
//!
//! Version notes: `pods/resize` is served from v1.33 on (the
//! `InPlacePodVerticalScaling` gate is beta and on by default there; in v1.32 it
//! was alpha and off, so a v1.32 server does not list it). Everything else in
//! the table is identical in v1.32 and v1.33.

/// The verbs of an ordinary stored resource, as upstream lists them.
pub const STANDARD_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// Namespaces: the standard verbs without `deletecollection`.
const NAMESPACE_VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
/// `status`, `scale`, `resize`, `ephemeralcontainers`: read and write one object.
const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];
/// `proxy` subresources.
const PROXY_VERBS: &[&str] = &["create", "delete", "get", "patch", "update"];
/// `attach`, `exec`, `portforward`: streaming connections opened by GET or POST.
const CONNECT_VERBS: &[&str] = &["create", "get"];
/// Create-only endpoints: `bindings`, `pods/binding`, `pods/eviction`, `serviceaccounts/token`.
const CREATE_ONLY: &[&str] = &["create"];
/// `pods/log`.
const GET_ONLY: &[&str] = &["get"];
/// `componentstatuses`.
const GET_LIST: &[&str] = &["get", "list"];
/// `namespaces/finalize`.
const UPDATE_ONLY: &[&str] = &["update"];

/// The `all` category, which `kubectl get all` expands.
const ALL: &[&str] = &["all"];
/// No categories, short names, or subresources.
const NONE: &[&str] = &[];

/// Whether a resource's objects live in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Objects live in a namespace (`namespaced: true`).
    Namespaced,
    /// Objects are cluster-wide (`namespaced: false`).
    Cluster,
}

impl Scope {
    /// The spelling aggregated discovery uses: `"Namespaced"` or `"Cluster"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Namespaced => "Namespaced",
            Scope::Cluster => "Cluster",
        }
    }

    /// The `namespaced` flag of legacy discovery.
    pub const fn is_namespaced(self) -> bool {
        matches!(self, Scope::Namespaced)
    }
}

/// A subresource such as `pods/status` or `deployments/scale`.
///
/// `group` and `version` are always spelled out, even when they equal the
/// parent's; upstream discovery leaves them empty in that case, which
/// [`Subresource::discovery_group_version`] reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subresource {
    /// The name after the slash, e.g. `status`.
    pub name: &'static str,
    /// The group of the kind the subresource accepts and returns (`""` for core).
    pub group: &'static str,
    /// The version of that kind.
    pub version: &'static str,
    /// The kind, e.g. `Scale` for `deployments/scale`.
    pub kind: &'static str,
    /// The verbs, as upstream lists them.
    pub verbs: &'static [&'static str],
}

impl Subresource {
    /// Whether the subresource supports `verb`.
    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    /// The group and version as discovery shows them for this subresource of
    /// `parent`: `None` when they equal the parent's (upstream then leaves the
    /// fields empty), `Some((group, version))` otherwise, e.g.
    /// `("autoscaling", "v1")` for `deployments/scale`.
    pub fn discovery_group_version(
        &self,
        parent: &ResourceInfo,
    ) -> Option<(&'static str, &'static str)> {
        if self.group == parent.group && self.version == parent.version {
            None
        } else {
            Some((self.group, self.version))
        }
    }
}

/// Where a resource's objects are stored, as upstream kube-apiserver stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StorageInfo {
    /// The group of the canonical storage resource (`""` for core).
    pub group: &'static str,
    /// The plural of the canonical storage resource.
    pub resource: &'static str,
    /// The etcd key segment after `/registry/`: usually the plural, but upstream
    /// keeps a few historic names (`minions` for nodes, `services/specs`,
    /// `services/endpoints`, `controllers` for replication controllers).
    pub key_prefix: &'static str,
    /// The version objects are encoded in at rest.
    pub version: &'static str,
    /// The kind objects are encoded as at rest.
    pub kind: &'static str,
    /// The `storageVersionHash` legacy discovery publishes: base64 of the first
    /// 8 bytes of SHA-256 over `<group>/<version>/<kind>` of the storage version.
    pub version_hash: &'static str,
}

/// One served resource in one group/version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceInfo {
    /// The API group, `""` for core.
    pub group: &'static str,
    /// The version within the group.
    pub version: &'static str,
    /// The kind of the objects, e.g. `Pod`.
    pub kind: &'static str,
    /// The plural resource name used in URLs, e.g. `pods`.
    pub plural: &'static str,
    /// The singular name, e.g. `pod`.
    pub singular: &'static str,
    /// Short names, e.g. `po`.
    pub short_names: &'static [&'static str],
    /// Namespaced or cluster-wide.
    pub scope: Scope,
    /// The verbs, as upstream lists them (sorted; namespaces lack `deletecollection`).
    pub verbs: &'static [&'static str],
    /// Categories, e.g. `all`.
    pub categories: &'static [&'static str],
    /// Subresources, sorted by name as upstream lists them.
    pub subresources: &'static [Subresource],
    /// Where the objects are stored; `None` for resources that store nothing
    /// themselves (`bindings`, `componentstatuses`).
    pub storage: Option<StorageInfo>,
}

impl ResourceInfo {
    /// The `apiVersion` of the objects: `v1` for core, `apps/v1` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The kind of a list of these objects, e.g. `PodList`.
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// Whether the objects live in a namespace.
    pub const fn is_namespaced(&self) -> bool {
        self.scope.is_namespaced()
    }

    /// The URL prefix of the group/version: `/api/v1` or `/apis/apps/v1`.
    pub fn base_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// Whether the resource supports `verb`.
    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    /// Whether the resource is in `category`.
    pub fn in_category(&self, category: &str) -> bool {
        self.categories.contains(&category)
    }

    /// The subresource called `name` (e.g. `status`), if served.
    pub fn subresource(&self, name: &str) -> Option<&'static Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// The canonical `(group, plural)` the objects are stored under, shared by
    /// every served resource with the same objects; `None` if nothing is stored.
    pub fn storage_resource(&self) -> Option<(&'static str, &'static str)> {
        self.storage.map(|s| (s.group, s.resource))
    }

    /// Whether `self` and `other` serve the same stored objects (including
    /// `self == other`).
    pub fn shares_storage_with(&self, other: &ResourceInfo) -> bool {
        match (self.storage_resource(), other.storage_resource()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }

    /// Whether this entry is in its group's preferred version.
    pub fn is_preferred_version(&self) -> bool {
        find_group(self.group).is_some_and(|g| g.preferred_version() == self.version)
    }
}

/// One version of an API group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionInfo {
    /// The version, e.g. `v2`.
    pub version: &'static str,
    /// The `versionPriority` of its auto-registered `APIService`; higher sorts first.
    pub priority: i32,
}

/// An API group with its versions in upstream discovery order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupInfo {
    /// The group name, `""` for core (served at `/api`, not listed in `/apis`).
    pub name: &'static str,
    /// The `groupPriorityMinimum` of its auto-registered `APIService`s; higher sorts first.
    pub priority: i32,
    /// Versions, preferred first.
    pub versions: &'static [VersionInfo],
}

impl GroupInfo {
    /// The preferred version (the first one).
    pub fn preferred_version(&self) -> &'static str {
        self.versions.first().map_or("", |v| v.version)
    }

    /// Whether this is the core group served at `/api`.
    pub const fn is_core(&self) -> bool {
        self.name.is_empty()
    }

    /// Whether the group serves `version`.
    pub fn has_version(&self, version: &str) -> bool {
        self.versions.iter().any(|v| v.version == version)
    }
}

/// Versions served at priority 15 only (the usual single GA version).
const V1_ONLY: &[VersionInfo] = &[VersionInfo {
    version: "v1",
    priority: 15,
}];

/// The groups Bosun serves, in upstream discovery order.
///
/// Upstream sorts `/apis` by `groupPriorityMinimum` (descending) and versions
/// by `versionPriority` (descending); the priorities are the ones kube-apiserver
/// auto-registers as `APIService` objects.
pub static GROUPS: &[GroupInfo] = &[
    GroupInfo {
        name: "",
        priority: 18000,
        versions: &[VersionInfo {
            version: "v1",
            priority: 1,
        }],
    },
    GroupInfo {
        name: "apps",
        priority: 17800,
        versions: V1_ONLY,
    },
    GroupInfo {
        name: "events.k8s.io",
        priority: 17750,
        versions: V1_ONLY,
    },
    GroupInfo {
        name: "authentication.k8s.io",
        priority: 17700,
        versions: V1_ONLY,
    },
    GroupInfo {
        name: "authorization.k8s.io",
        priority: 17600,
        versions: V1_ONLY,
    },
    GroupInfo {
        name: "autoscaling",
        priority: 17500,
        versions: &[
            VersionInfo {
                version: "v2",
                priority: 30,
            },
            VersionInfo {
                version: "v1",
                priority: 15,
            },
        ],
    },
    GroupInfo {
        name: "batch",
        priority: 17400,
        versions: V1_ONLY,
    },
    GroupInfo {
        name: "networking.k8s.io",
        priority: 17200,
        versions: V1_ONLY,
    },
    GroupInfo {
        name: "policy",
        priority: 17100,
        versions: V1_ONLY,
    },
    GroupInfo {
        name: "rbac.authorization.k8s.io",
        priority: 17000,
        versions: V1_ONLY,
    },
    GroupInfo {
        name: "storage.k8s.io",
        priority: 16800,
        versions: V1_ONLY,
    },
    GroupInfo {
        name: "scheduling.k8s.io",
        priority: 16600,
        versions: V1_ONLY,
    },
    GroupInfo {
        name: "coordination.k8s.io",
        priority: 16500,
        versions: V1_ONLY,
    },
    GroupInfo {
        name: "discovery.k8s.io",
        priority: 16200,
        versions: V1_ONLY,
    },
];

/// The groups Bosun serves, in upstream discovery order (same as [`GROUPS`]).
pub fn groups() -> &'static [GroupInfo] {
    GROUPS
}

/// The group called `name` (`""` for core).
pub fn find_group(name: &str) -> Option<&'static GroupInfo> {
    GROUPS.iter().find(|g| g.name == name)
}

const fn sub(
    name: &'static str,
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    verbs: &'static [&'static str],
) -> Subresource {
    Subresource {
        name,
        group,
        version,
        kind,
        verbs,
    }
}

/// Storage under the resource's own group and plural, encoded as `<group>/v1`.
const fn stored(
    group: &'static str,
    resource: &'static str,
    key_prefix: &'static str,
    kind: &'static str,
    version_hash: &'static str,
) -> Option<StorageInfo> {
    Some(StorageInfo {
        group,
        resource,
        key_prefix,
        version: "v1",
        kind,
        version_hash,
    })
}

/// A `status` subresource returning the parent's kind.
const fn status(group: &'static str, version: &'static str, kind: &'static str) -> Subresource {
    sub("status", group, version, kind, GET_PATCH_UPDATE)
}

/// A `scale` subresource: always `autoscaling/v1` `Scale`.
const SCALE: Subresource = sub("scale", "autoscaling", "v1", "Scale", GET_PATCH_UPDATE);

/// Core `events` and `events.k8s.io/v1` `events` are the same objects, stored as core v1.
const EVENTS_STORAGE: Option<StorageInfo> = stored("", "events", "events", "Event", "r2yiGXH7wu8=");

/// `autoscaling/v1` and `autoscaling/v2` HPAs are the same objects, stored as v2.
const HPA_STORAGE: Option<StorageInfo> = Some(StorageInfo {
    group: "autoscaling",
    resource: "horizontalpodautoscalers",
    key_prefix: "horizontalpodautoscalers",
    version: "v2",
    kind: "HorizontalPodAutoscaler",
    version_hash: "qwQve8ut294=",
});

const HPA_SUBRESOURCES_V2: &[Subresource] =
    &[status("autoscaling", "v2", "HorizontalPodAutoscaler")];
const HPA_SUBRESOURCES_V1: &[Subresource] =
    &[status("autoscaling", "v1", "HorizontalPodAutoscaler")];

/// Every resource Bosun serves, in upstream discovery order.
pub static RESOURCES: &[ResourceInfo] = &[
    // ---- core, /api/v1 ----
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Binding",
        plural: "bindings",
        singular: "binding",
        short_names: NONE,
        scope: Scope::Namespaced,
        verbs: CREATE_ONLY,
        categories: NONE,
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "ComponentStatus",
        plural: "componentstatuses",
        singular: "componentstatus",
        short_names: &["cs"],
        scope: Scope::Cluster,
        verbs: GET_LIST,
        categories: NONE,
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "ConfigMap",
        plural: "configmaps",
        singular: "configmap",
        short_names: &["cm"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: stored("", "configmaps", "configmaps", "ConfigMap", "qFsyl6wFWjQ="),
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Endpoints",
        plural: "endpoints",
        singular: "endpoints",
        short_names: &["ep"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: stored(
            "",
            "endpoints",
            "services/endpoints",
            "Endpoints",
            "fWeeMqaN/OA=",
        ),
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Event",
        plural: "events",
        singular: "event",
        short_names: &["ev"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: EVENTS_STORAGE,
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "LimitRange",
        plural: "limitranges",
        singular: "limitrange",
        short_names: &["limits"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: stored(
            "",
            "limitranges",
            "limitranges",
            "LimitRange",
            "EBKMFVe6cwo=",
        ),
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Namespace",
        plural: "namespaces",
        singular: "namespace",
        short_names: &["ns"],
        scope: Scope::Cluster,
        verbs: NAMESPACE_VERBS,
        categories: NONE,
        subresources: &[
            sub("finalize", "", "v1", "Namespace", UPDATE_ONLY),
            status("", "v1", "Namespace"),
        ],
        storage: stored("", "namespaces", "namespaces", "Namespace", "Q3oi5N2YM8M="),
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Node",
        plural: "nodes",
        singular: "node",
        short_names: &["no"],
        scope: Scope::Cluster,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[
            sub("proxy", "", "v1", "NodeProxyOptions", PROXY_VERBS),
            status("", "v1", "Node"),
        ],
        storage: stored("", "nodes", "minions", "Node", "XwShjMxG9Fs="),
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "PersistentVolumeClaim",
        plural: "persistentvolumeclaims",
        singular: "persistentvolumeclaim",
        short_names: &["pvc"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[status("", "v1", "PersistentVolumeClaim")],
        storage: stored(
            "",
            "persistentvolumeclaims",
            "persistentvolumeclaims",
            "PersistentVolumeClaim",
            "QWTyNDq0dC4=",
        ),
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "PersistentVolume",
        plural: "persistentvolumes",
        singular: "persistentvolume",
        short_names: &["pv"],
        scope: Scope::Cluster,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[status("", "v1", "PersistentVolume")],
        storage: stored(
            "",
            "persistentvolumes",
            "persistentvolumes",
            "PersistentVolume",
            "HN/zwEC+JgM=",
        ),
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Pod",
        plural: "pods",
        singular: "pod",
        short_names: &["po"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: ALL,
        subresources: &[
            sub("attach", "", "v1", "PodAttachOptions", CONNECT_VERBS),
            sub("binding", "", "v1", "Binding", CREATE_ONLY),
            sub("ephemeralcontainers", "", "v1", "Pod", GET_PATCH_UPDATE),
            sub("eviction", "policy", "v1", "Eviction", CREATE_ONLY),
            sub("exec", "", "v1", "PodExecOptions", CONNECT_VERBS),
            sub("log", "", "v1", "Pod", GET_ONLY),
            sub(
                "portforward",
                "",
                "v1",
                "PodPortForwardOptions",
                CONNECT_VERBS,
            ),
            sub("proxy", "", "v1", "PodProxyOptions", PROXY_VERBS),
            // v1.33+: gated by InPlacePodVerticalScaling (beta, on by default).
            sub("resize", "", "v1", "Pod", GET_PATCH_UPDATE),
            status("", "v1", "Pod"),
        ],
        storage: stored("", "pods", "pods", "Pod", "xPOwRZ+Yhw8="),
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "PodTemplate",
        plural: "podtemplates",
        singular: "podtemplate",
        short_names: NONE,
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: stored(
            "",
            "podtemplates",
            "podtemplates",
            "PodTemplate",
            "LIXB2x4IFpk=",
        ),
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "ReplicationController",
        plural: "replicationcontrollers",
        singular: "replicationcontroller",
        short_names: &["rc"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: ALL,
        subresources: &[SCALE, status("", "v1", "ReplicationController")],
        storage: stored(
            "",
            "replicationcontrollers",
            "controllers",
            "ReplicationController",
            "Jond2If31h0=",
        ),
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "ResourceQuota",
        plural: "resourcequotas",
        singular: "resourcequota",
        short_names: &["quota"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[status("", "v1", "ResourceQuota")],
        storage: stored(
            "",
            "resourcequotas",
            "resourcequotas",
            "ResourceQuota",
            "8uhSgffRX6w=",
        ),
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Secret",
        plural: "secrets",
        singular: "secret",
        short_names: NONE,
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: stored("", "secrets", "secrets", "Secret", "S6u1pOWzb84="),
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "ServiceAccount",
        plural: "serviceaccounts",
        singular: "serviceaccount",
        short_names: &["sa"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[sub(
            "token",
            "authentication.k8s.io",
            "v1",
            "TokenRequest",
            CREATE_ONLY,
        )],
        storage: stored(
            "",
            "serviceaccounts",
            "serviceaccounts",
            "ServiceAccount",
            "pbx9ZvyFpBE=",
        ),
    },
    ResourceInfo {
        group: "",
        version: "v1",
        kind: "Service",
        plural: "services",
        singular: "service",
        short_names: &["svc"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: ALL,
        subresources: &[
            sub("proxy", "", "v1", "ServiceProxyOptions", PROXY_VERBS),
            status("", "v1", "Service"),
        ],
        storage: stored("", "services", "services/specs", "Service", "0/CO1lhkEBI="),
    },
    // ---- apps/v1 ----
    ResourceInfo {
        group: "apps",
        version: "v1",
        kind: "ControllerRevision",
        plural: "controllerrevisions",
        singular: "controllerrevision",
        short_names: NONE,
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: stored(
            "apps",
            "controllerrevisions",
            "controllerrevisions",
            "ControllerRevision",
            "85nkx63pcBU=",
        ),
    },
    ResourceInfo {
        group: "apps",
        version: "v1",
        kind: "DaemonSet",
        plural: "daemonsets",
        singular: "daemonset",
        short_names: &["ds"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: ALL,
        subresources: &[status("apps", "v1", "DaemonSet")],
        storage: stored(
            "apps",
            "daemonsets",
            "daemonsets",
            "DaemonSet",
            "dd7pWHUlMKQ=",
        ),
    },
    ResourceInfo {
        group: "apps",
        version: "v1",
        kind: "Deployment",
        plural: "deployments",
        singular: "deployment",
        short_names: &["deploy"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: ALL,
        subresources: &[SCALE, status("apps", "v1", "Deployment")],
        storage: stored(
            "apps",
            "deployments",
            "deployments",
            "Deployment",
            "8aSe+NMegvE=",
        ),
    },
    ResourceInfo {
        group: "apps",
        version: "v1",
        kind: "ReplicaSet",
        plural: "replicasets",
        singular: "replicaset",
        short_names: &["rs"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: ALL,
        subresources: &[SCALE, status("apps", "v1", "ReplicaSet")],
        storage: stored(
            "apps",
            "replicasets",
            "replicasets",
            "ReplicaSet",
            "P1RzHs8/mWQ=",
        ),
    },
    ResourceInfo {
        group: "apps",
        version: "v1",
        kind: "StatefulSet",
        plural: "statefulsets",
        singular: "statefulset",
        short_names: &["sts"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: ALL,
        subresources: &[SCALE, status("apps", "v1", "StatefulSet")],
        storage: stored(
            "apps",
            "statefulsets",
            "statefulsets",
            "StatefulSet",
            "H+vl74LkKdo=",
        ),
    },
    // ---- events.k8s.io/v1 ----
    ResourceInfo {
        group: "events.k8s.io",
        version: "v1",
        kind: "Event",
        plural: "events",
        singular: "event",
        short_names: &["ev"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: EVENTS_STORAGE,
    },
    // ---- authentication.k8s.io/v1 (reviews: computed, never stored) ----
    ResourceInfo {
        group: "authentication.k8s.io",
        version: "v1",
        kind: "SelfSubjectReview",
        plural: "selfsubjectreviews",
        singular: "selfsubjectreview",
        short_names: NONE,
        scope: Scope::Cluster,
        verbs: CREATE_ONLY,
        categories: NONE,
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "authentication.k8s.io",
        version: "v1",
        kind: "TokenReview",
        plural: "tokenreviews",
        singular: "tokenreview",
        short_names: NONE,
        scope: Scope::Cluster,
        verbs: CREATE_ONLY,
        categories: NONE,
        subresources: &[],
        storage: None,
    },
    // ---- authorization.k8s.io/v1 (reviews: computed, never stored) ----
    ResourceInfo {
        group: "authorization.k8s.io",
        version: "v1",
        kind: "LocalSubjectAccessReview",
        plural: "localsubjectaccessreviews",
        singular: "localsubjectaccessreview",
        short_names: NONE,
        scope: Scope::Namespaced,
        verbs: CREATE_ONLY,
        categories: NONE,
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "authorization.k8s.io",
        version: "v1",
        kind: "SelfSubjectAccessReview",
        plural: "selfsubjectaccessreviews",
        singular: "selfsubjectaccessreview",
        short_names: NONE,
        scope: Scope::Cluster,
        verbs: CREATE_ONLY,
        categories: NONE,
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "authorization.k8s.io",
        version: "v1",
        kind: "SelfSubjectRulesReview",
        plural: "selfsubjectrulesreviews",
        singular: "selfsubjectrulesreview",
        short_names: NONE,
        scope: Scope::Cluster,
        verbs: CREATE_ONLY,
        categories: NONE,
        subresources: &[],
        storage: None,
    },
    ResourceInfo {
        group: "authorization.k8s.io",
        version: "v1",
        kind: "SubjectAccessReview",
        plural: "subjectaccessreviews",
        singular: "subjectaccessreview",
        short_names: NONE,
        scope: Scope::Cluster,
        verbs: CREATE_ONLY,
        categories: NONE,
        subresources: &[],
        storage: None,
    },
    // ---- autoscaling/v2 (preferred), autoscaling/v1 ----
    ResourceInfo {
        group: "autoscaling",
        version: "v2",
        kind: "HorizontalPodAutoscaler",
        plural: "horizontalpodautoscalers",
        singular: "horizontalpodautoscaler",
        short_names: &["hpa"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: ALL,
        subresources: HPA_SUBRESOURCES_V2,
        storage: HPA_STORAGE,
    },
    ResourceInfo {
        group: "autoscaling",
        version: "v1",
        kind: "HorizontalPodAutoscaler",
        plural: "horizontalpodautoscalers",
        singular: "horizontalpodautoscaler",
        short_names: &["hpa"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: ALL,
        subresources: HPA_SUBRESOURCES_V1,
        storage: HPA_STORAGE,
    },
    // ---- batch/v1 ----
    ResourceInfo {
        group: "batch",
        version: "v1",
        kind: "CronJob",
        plural: "cronjobs",
        singular: "cronjob",
        short_names: &["cj"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: ALL,
        subresources: &[status("batch", "v1", "CronJob")],
        storage: stored("batch", "cronjobs", "cronjobs", "CronJob", "sd5LIXh4Fjs="),
    },
    ResourceInfo {
        group: "batch",
        version: "v1",
        kind: "Job",
        plural: "jobs",
        singular: "job",
        short_names: NONE,
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: ALL,
        subresources: &[status("batch", "v1", "Job")],
        storage: stored("batch", "jobs", "jobs", "Job", "mudhfqk/qZY="),
    },
    // ---- networking.k8s.io/v1 ----
    ResourceInfo {
        group: "networking.k8s.io",
        version: "v1",
        kind: "IngressClass",
        plural: "ingressclasses",
        singular: "ingressclass",
        short_names: NONE,
        scope: Scope::Cluster,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: stored(
            "networking.k8s.io",
            "ingressclasses",
            "ingressclasses",
            "IngressClass",
            "l/iqIbDgFyQ=",
        ),
    },
    ResourceInfo {
        group: "networking.k8s.io",
        version: "v1",
        kind: "Ingress",
        plural: "ingresses",
        singular: "ingress",
        short_names: &["ing"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[status("networking.k8s.io", "v1", "Ingress")],
        storage: stored(
            "networking.k8s.io",
            "ingresses",
            "ingress",
            "Ingress",
            "39NQlfNR+bo=",
        ),
    },
    ResourceInfo {
        group: "networking.k8s.io",
        version: "v1",
        kind: "NetworkPolicy",
        plural: "networkpolicies",
        singular: "networkpolicy",
        short_names: &["netpol"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: stored(
            "networking.k8s.io",
            "networkpolicies",
            "networkpolicies",
            "NetworkPolicy",
            "YpfwF18m1G8=",
        ),
    },
    // ---- policy/v1 ----
    ResourceInfo {
        group: "policy",
        version: "v1",
        kind: "PodDisruptionBudget",
        plural: "poddisruptionbudgets",
        singular: "poddisruptionbudget",
        short_names: &["pdb"],
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[status("policy", "v1", "PodDisruptionBudget")],
        storage: stored(
            "policy",
            "poddisruptionbudgets",
            "poddisruptionbudgets",
            "PodDisruptionBudget",
            "EVWiDmWqyJw=",
        ),
    },
    // ---- rbac.authorization.k8s.io/v1 ----
    ResourceInfo {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "ClusterRoleBinding",
        plural: "clusterrolebindings",
        singular: "clusterrolebinding",
        short_names: NONE,
        scope: Scope::Cluster,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: stored(
            "rbac.authorization.k8s.io",
            "clusterrolebindings",
            "clusterrolebindings",
            "ClusterRoleBinding",
            "48tpQ8gZHFc=",
        ),
    },
    ResourceInfo {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "ClusterRole",
        plural: "clusterroles",
        singular: "clusterrole",
        short_names: NONE,
        scope: Scope::Cluster,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: stored(
            "rbac.authorization.k8s.io",
            "clusterroles",
            "clusterroles",
            "ClusterRole",
            "bYE5ZWDrJ44=",
        ),
    },
    ResourceInfo {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "RoleBinding",
        plural: "rolebindings",
        singular: "rolebinding",
        short_names: NONE,
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: stored(
            "rbac.authorization.k8s.io",
            "rolebindings",
            "rolebindings",
            "RoleBinding",
            "eGsCzGH6b1g=",
        ),
    },
    ResourceInfo {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "Role",
        plural: "roles",
        singular: "role",
        short_names: NONE,
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: stored(
            "rbac.authorization.k8s.io",
            "roles",
            "roles",
            "Role",
            "7FuwZcIIItM=",
        ),
    },
    // ---- storage.k8s.io/v1 ----
    ResourceInfo {
        group: "storage.k8s.io",
        version: "v1",
        kind: "StorageClass",
        plural: "storageclasses",
        singular: "storageclass",
        short_names: &["sc"],
        scope: Scope::Cluster,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: stored(
            "storage.k8s.io",
            "storageclasses",
            "storageclasses",
            "StorageClass",
            "K+m6uJwbjGY=",
        ),
    },
    // ---- scheduling.k8s.io/v1 ----
    ResourceInfo {
        group: "scheduling.k8s.io",
        version: "v1",
        kind: "PriorityClass",
        plural: "priorityclasses",
        singular: "priorityclass",
        short_names: &["pc"],
        scope: Scope::Cluster,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: stored(
            "scheduling.k8s.io",
            "priorityclasses",
            "priorityclasses",
            "PriorityClass",
            "1QwjyaZjj3Y=",
        ),
    },
    // ---- coordination.k8s.io/v1 ----
    ResourceInfo {
        group: "coordination.k8s.io",
        version: "v1",
        kind: "Lease",
        plural: "leases",
        singular: "lease",
        short_names: NONE,
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: stored(
            "coordination.k8s.io",
            "leases",
            "leases",
            "Lease",
            "gqkMMb/YqFM=",
        ),
    },
    // ---- discovery.k8s.io/v1 ----
    ResourceInfo {
        group: "discovery.k8s.io",
        version: "v1",
        kind: "EndpointSlice",
        plural: "endpointslices",
        singular: "endpointslice",
        short_names: NONE,
        scope: Scope::Namespaced,
        verbs: STANDARD_VERBS,
        categories: NONE,
        subresources: &[],
        storage: stored(
            "discovery.k8s.io",
            "endpointslices",
            "endpointslices",
            "EndpointSlice",
            "qgS0xkrxYAI=",
        ),
    },
];

/// Every resource Bosun serves, in upstream discovery order (same as [`RESOURCES`]).
pub fn resources() -> &'static [ResourceInfo] {
    RESOURCES
}

/// The resources of one group/version, in discovery order.
pub fn resources_in<'a>(
    group: &'a str,
    version: &'a str,
) -> impl Iterator<Item = &'static ResourceInfo> + 'a {
    RESOURCES
        .iter()
        .filter(move |r| r.group == group && r.version == version)
}

/// [`RESOURCES`] indexed by a name (plural or kind): every entry with that
/// name, in table order. Lookups run on every request, so they hash the name
/// instead of comparing it with each of the table's entries.
type NameIndex = std::collections::HashMap<&'static str, Vec<&'static ResourceInfo>>;

/// [`RESOURCES`] by plural.
static BY_PLURAL: std::sync::LazyLock<NameIndex> =
    std::sync::LazyLock::new(|| index_by(|r| r.plural));
/// [`RESOURCES`] by kind.
static BY_KIND: std::sync::LazyLock<NameIndex> = std::sync::LazyLock::new(|| index_by(|r| r.kind));

fn index_by(name: fn(&ResourceInfo) -> &'static str) -> NameIndex {
    let mut index = NameIndex::new();
    for r in RESOURCES {
        index.entry(name(r)).or_default().push(r);
    }
    index
}

/// The first entry under `name` in `index` served in `group`/`version`.
fn find_in(
    index: &NameIndex,
    name: &str,
    group: &str,
    version: &str,
) -> Option<&'static ResourceInfo> {
    index
        .get(name)?
        .iter()
        .find(|r| r.group == group && r.version == version)
        .copied()
}

/// The resource `plural` in `group`/`version`.
pub fn find_by_plural(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    find_in(&BY_PLURAL, plural, group, version)
}

/// The resource serving `kind` in `group`/`version`.
pub fn find_by_kind(group: &str, version: &str, kind: &str) -> Option<&'static ResourceInfo> {
    find_in(&BY_KIND, kind, group, version)
}

/// The resource `plural` of `group` in the group's preferred version (the
/// first version, in discovery order, that serves it).
pub fn find_preferred(group: &str, plural: &str) -> Option<&'static ResourceInfo> {
    BY_PLURAL
        .get(plural)?
        .iter()
        .find(|r| r.group == group)
        .copied()
}

/// The resource a short name means, as kubectl resolves it: the first match in
/// discovery order. Short names can repeat across groups and versions (`ev` is
/// both core and `events.k8s.io` events; `hpa` is both autoscaling versions),
/// so the core group and preferred versions win.
pub fn find_by_short_name(short_name: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.short_names.contains(&short_name))
}

/// The members of a category (e.g. `all`), one per group and plural in its
/// preferred version, in discovery order.
pub fn category_members(category: &str) -> Vec<&'static ResourceInfo> {
    let mut out: Vec<&'static ResourceInfo> = Vec::new();
    for r in RESOURCES.iter().filter(|r| r.in_category(category)) {
        if !out
            .iter()
            .any(|seen| seen.group == r.group && seen.plural == r.plural)
        {
            out.push(r);
        }
    }
    out
}

/// Every served resource whose objects are stored under `(group, resource)`,
/// the canonical storage pair of [`ResourceInfo::storage_resource`].
pub fn sharing_storage<'a>(
    group: &'a str,
    resource: &'a str,
) -> impl Iterator<Item = &'static ResourceInfo> + 'a {
    RESOURCES
        .iter()
        .filter(move |r| r.storage_resource() == Some((group, resource)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn get(group: &str, version: &str, plural: &str) -> &'static ResourceInfo {
        match find_by_plural(group, version, plural) {
            Some(r) => r,
            None => panic!("{group}/{version}/{plural} missing"),
        }
    }

    // ---- table-wide invariants ----

    #[test]
    fn every_group_version_plural_is_unique() {
        let mut seen = HashSet::new();
        for r in RESOURCES {
            assert!(
                seen.insert((r.group, r.version, r.plural)),
                "duplicate {}/{}",
                r.api_version(),
                r.plural
            );
        }
    }

    #[test]
    fn every_kind_appears_once_per_group_version() {
        let mut seen = HashSet::new();
        for r in RESOURCES {
            assert!(
                seen.insert((r.group, r.version, r.kind)),
                "duplicate kind {} in {}",
                r.kind,
                r.api_version()
            );
        }
    }

    #[test]
    fn short_names_are_unique_except_between_entries_sharing_storage() {
        for (i, a) in RESOURCES.iter().enumerate() {
            for b in &RESOURCES[i + 1..] {
                for s in a.short_names {
                    if b.short_names.contains(s) {
                        assert!(
                            a.shares_storage_with(b),
                            "short name {s} used by {}/{} and {}/{}",
                            a.api_version(),
                            a.plural,
                            b.api_version(),
                            b.plural
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn short_names_never_collide_with_a_plural_or_singular() {
        let names: HashSet<&str> = RESOURCES
            .iter()
            .flat_map(|r| [r.plural, r.singular])
            .collect();
        for r in RESOURCES {
            for s in r.short_names {
                assert!(!names.contains(s), "short name {s} is also a resource name");
            }
        }
    }

    #[test]
    fn every_resource_is_in_a_served_group_version() {
        for r in RESOURCES {
            let g = find_group(r.group);
            assert!(
                g.is_some_and(|g| g.has_version(r.version)),
                "{} not in GROUPS",
                r.api_version()
            );
        }
        for g in GROUPS {
            for v in g.versions {
                assert!(
                    resources_in(g.name, v.version).next().is_some(),
                    "{}/{} serves nothing",
                    g.name,
                    v.version
                );
            }
        }
    }

    #[test]
    fn table_follows_discovery_order() {
        // Groups by descending priority, versions by descending priority.
        for pair in GROUPS.windows(2) {
            assert!(pair[0].priority > pair[1].priority, "{:?}", pair[1].name);
        }
        for g in GROUPS {
            for pair in g.versions.windows(2) {
                assert!(pair[0].priority > pair[1].priority, "{}", g.name);
            }
        }
        let order: Vec<(&str, &str)> = GROUPS
            .iter()
            .flat_map(|g| g.versions.iter().map(move |v| (g.name, v.version)))
            .collect();
        let position = |r: &ResourceInfo| {
            order
                .iter()
                .position(|gv| *gv == (r.group, r.version))
                .unwrap_or(usize::MAX)
        };
        for pair in RESOURCES.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let (pa, pb) = (position(a), position(b));
            assert!(pa <= pb, "{} before {}", a.plural, b.plural);
            if pa == pb {
                assert!(a.plural < b.plural, "{} before {}", a.plural, b.plural);
            }
        }
    }

    #[test]
    fn verbs_and_subresources_are_sorted_like_upstream() {
        for r in RESOURCES {
            assert!(r.verbs.is_sorted(), "{} verbs", r.plural);
            assert!(
                r.subresources.is_sorted_by_key(|s| s.name),
                "{} subresources",
                r.plural
            );
            for s in r.subresources {
                assert!(s.verbs.is_sorted(), "{}/{} verbs", r.plural, s.name);
            }
        }
    }

    #[test]
    fn entries_sharing_storage_agree_on_kind_scope_and_storage() {
        for a in RESOURCES {
            for b in RESOURCES.iter().filter(|b| a.shares_storage_with(b)) {
                assert_eq!(a.kind, b.kind);
                assert_eq!(a.scope, b.scope);
                assert_eq!(a.storage, b.storage);
            }
        }
    }

    #[test]
    fn storage_keys_are_unique_per_storage_resource() {
        let mut prefixes = std::collections::HashMap::new();
        for r in RESOURCES {
            if let Some(s) = r.storage {
                let owner = prefixes
                    .entry(s.key_prefix)
                    .or_insert((s.group, s.resource));
                assert_eq!(*owner, (s.group, s.resource), "prefix {}", s.key_prefix);
            }
        }
    }

    #[test]
    fn storage_version_hash_is_sha256_of_storage_group_version_kind() {
        for r in RESOURCES {
            if let Some(s) = r.storage {
                let gvk = format!("{}/{}/{}", s.group, s.version, s.kind);
                assert_eq!(
                    storage_version_hash(&gvk),
                    s.version_hash,
                    "{}/{}",
                    r.api_version(),
                    r.plural
                );
            }
        }
    }

    // ---- pinned upstream facts ----

    #[test]
    fn pods_have_short_name_po_category_all_and_upstream_subresources() {
        let pods = get("", "v1", "pods");
        assert_eq!(pods.short_names, &["po"]);
        assert_eq!(pods.categories, &["all"]);
        assert_eq!(pods.verbs, STANDARD_VERBS);
        let names: Vec<&str> = pods.subresources.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "attach",
                "binding",
                "ephemeralcontainers",
                "eviction",
                "exec",
                "log",
                "portforward",
                "proxy",
                "resize",
                "status"
            ]
        );
        assert_eq!(pods.list_kind(), "PodList");
        assert_eq!(pods.api_version(), "v1");
        assert_eq!(pods.base_path(), "/api/v1");
    }

    #[test]
    fn pod_connect_subresources_take_create_and_get_and_log_only_get() {
        let pods = get("", "v1", "pods");
        for name in ["attach", "exec", "portforward"] {
            let s = pods.subresource(name).map(|s| s.verbs);
            assert_eq!(s, Some(&["create", "get"][..]), "{name}");
        }
        assert_eq!(pods.subresource("log").map(|s| s.verbs), Some(&["get"][..]));
        assert_eq!(
            pods.subresource("proxy").map(|s| s.kind),
            Some("PodProxyOptions")
        );
    }

    #[test]
    fn pod_eviction_is_policy_v1_eviction_and_reported_with_its_group() {
        let pods = get("", "v1", "pods");
        let eviction = pods.subresource("eviction");
        assert_eq!(
            eviction.map(|s| (s.group, s.version, s.kind, s.verbs)),
            Some(("policy", "v1", "Eviction", &["create"][..]))
        );
        assert_eq!(
            eviction.and_then(|s| s.discovery_group_version(pods)),
            Some(("policy", "v1"))
        );
        assert_eq!(
            pods.subresource("status")
                .and_then(|s| s.discovery_group_version(pods)),
            None
        );
    }

    #[test]
    fn namespaces_lack_deletecollection_and_have_finalize_and_status() {
        let ns = get("", "v1", "namespaces");
        assert!(!ns.has_verb("deletecollection"));
        assert!(ns.has_verb("delete"));
        assert_eq!(ns.scope, Scope::Cluster);
        assert_eq!(
            ns.subresource("finalize").map(|s| s.verbs),
            Some(&["update"][..])
        );
        assert_eq!(
            ns.subresource("status").map(|s| s.verbs),
            Some(&["get", "patch", "update"][..])
        );
    }

    #[test]
    fn services_support_deletecollection_and_are_in_all() {
        let svc = get("", "v1", "services");
        assert!(svc.has_verb("deletecollection"));
        assert_eq!(svc.short_names, &["svc"]);
        assert!(svc.in_category("all"));
        assert_eq!(
            svc.subresource("proxy").map(|s| (s.kind, s.verbs)),
            Some(("ServiceProxyOptions", PROXY_VERBS))
        );
    }

    #[test]
    fn scale_subresources_are_autoscaling_v1_scale() {
        for (g, p) in [
            ("", "replicationcontrollers"),
            ("apps", "deployments"),
            ("apps", "replicasets"),
            ("apps", "statefulsets"),
        ] {
            let scale = get(g, "v1", p).subresource("scale");
            assert_eq!(
                scale.map(|s| (s.group, s.version, s.kind, s.verbs)),
                Some((
                    "autoscaling",
                    "v1",
                    "Scale",
                    &["get", "patch", "update"][..]
                )),
                "{p}"
            );
        }
        assert!(
            get("apps", "v1", "daemonsets")
                .subresource("scale")
                .is_none()
        );
    }

    #[test]
    fn serviceaccount_token_is_authentication_v1_tokenrequest() {
        let token = get("", "v1", "serviceaccounts").subresource("token");
        assert_eq!(
            token.map(|s| (s.group, s.version, s.kind, s.verbs)),
            Some((
                "authentication.k8s.io",
                "v1",
                "TokenRequest",
                &["create"][..]
            ))
        );
    }

    #[test]
    fn status_subresources_exist_exactly_where_upstream_serves_them() {
        let with_status: HashSet<(&str, &str)> = RESOURCES
            .iter()
            .filter(|r| r.subresource("status").is_some())
            .map(|r| (r.group, r.plural))
            .collect();
        let expected: HashSet<(&str, &str)> = [
            ("", "namespaces"),
            ("", "nodes"),
            ("", "persistentvolumeclaims"),
            ("", "persistentvolumes"),
            ("", "pods"),
            ("", "replicationcontrollers"),
            ("", "resourcequotas"),
            ("", "services"),
            ("apps", "daemonsets"),
            ("apps", "deployments"),
            ("apps", "replicasets"),
            ("apps", "statefulsets"),
            ("autoscaling", "horizontalpodautoscalers"),
            ("batch", "cronjobs"),
            ("batch", "jobs"),
            ("networking.k8s.io", "ingresses"),
            ("policy", "poddisruptionbudgets"),
        ]
        .into_iter()
        .collect();
        assert_eq!(with_status, expected);
    }

    #[test]
    fn category_all_matches_kubectl_get_all() {
        let all: Vec<String> = category_members("all")
            .iter()
            .map(|r| format!("{}/{}", r.api_version(), r.plural))
            .collect();
        assert_eq!(
            all,
            [
                "v1/pods",
                "v1/replicationcontrollers",
                "v1/services",
                "apps/v1/daemonsets",
                "apps/v1/deployments",
                "apps/v1/replicasets",
                "apps/v1/statefulsets",
                "autoscaling/v2/horizontalpodautoscalers",
                "batch/v1/cronjobs",
                "batch/v1/jobs",
            ]
        );
    }

    #[test]
    fn short_names_pin_upstream_values() {
        for (short, api_version, plural) in [
            ("po", "v1", "pods"),
            ("svc", "v1", "services"),
            ("ns", "v1", "namespaces"),
            ("no", "v1", "nodes"),
            ("ep", "v1", "endpoints"),
            ("cm", "v1", "configmaps"),
            ("sa", "v1", "serviceaccounts"),
            ("ev", "v1", "events"),
            ("pv", "v1", "persistentvolumes"),
            ("pvc", "v1", "persistentvolumeclaims"),
            ("rc", "v1", "replicationcontrollers"),
            ("quota", "v1", "resourcequotas"),
            ("limits", "v1", "limitranges"),
            ("cs", "v1", "componentstatuses"),
            ("deploy", "apps/v1", "deployments"),
            ("rs", "apps/v1", "replicasets"),
            ("ds", "apps/v1", "daemonsets"),
            ("sts", "apps/v1", "statefulsets"),
            ("cj", "batch/v1", "cronjobs"),
            ("hpa", "autoscaling/v2", "horizontalpodautoscalers"),
            ("pdb", "policy/v1", "poddisruptionbudgets"),
            ("pc", "scheduling.k8s.io/v1", "priorityclasses"),
            ("sc", "storage.k8s.io/v1", "storageclasses"),
        ] {
            let r = find_by_short_name(short);
            assert_eq!(
                r.map(|r| (r.api_version(), r.plural)),
                Some((api_version.to_string(), plural)),
                "{short}"
            );
        }
        for (short, plural) in [("ing", "ingresses"), ("netpol", "networkpolicies")] {
            let r = find_by_short_name(short);
            assert_eq!(
                r.map(|r| (r.api_version(), r.plural)),
                Some(("networking.k8s.io/v1".to_string(), plural)),
                "{short}"
            );
        }
        for (g, p) in [
            ("", "secrets"),
            ("", "podtemplates"),
            ("batch", "jobs"),
            ("coordination.k8s.io", "leases"),
            ("discovery.k8s.io", "endpointslices"),
            ("rbac.authorization.k8s.io", "roles"),
            ("apps", "controllerrevisions"),
        ] {
            let r = find_preferred(g, p);
            assert_eq!(r.map(|r| r.short_names.len()), Some(0), "{p}");
        }
    }

    #[test]
    fn events_in_both_groups_are_the_same_stored_objects() {
        let core = get("", "v1", "events");
        let new = get("events.k8s.io", "v1", "events");
        assert!(core.shares_storage_with(new));
        assert_eq!(new.storage_resource(), Some(("", "events")));
        let sharing: Vec<String> = sharing_storage("", "events")
            .map(|r| r.api_version())
            .collect();
        assert_eq!(sharing, ["v1", "events.k8s.io/v1"]);
        assert_eq!(new.storage.map(|s| s.version_hash), Some("r2yiGXH7wu8="));
    }

    #[test]
    fn hpa_versions_share_storage_and_v2_is_preferred() {
        let v1 = get("autoscaling", "v1", "horizontalpodautoscalers");
        let v2 = get("autoscaling", "v2", "horizontalpodautoscalers");
        assert!(v1.shares_storage_with(v2));
        assert!(v2.is_preferred_version());
        assert!(!v1.is_preferred_version());
        assert_eq!(
            find_preferred("autoscaling", "horizontalpodautoscalers").map(|r| r.version),
            Some("v2")
        );
        assert_eq!(v1.storage.map(|s| s.version), Some("v2"));
        assert_eq!(v1.categories, &["all"]);
        assert_eq!(
            v1.subresource("status").map(|s| (s.group, s.version)),
            Some(("autoscaling", "v1"))
        );
    }

    #[test]
    fn distinct_resources_do_not_share_storage() {
        let pods = get("", "v1", "pods");
        assert!(!pods.shares_storage_with(get("", "v1", "services")));
        let bindings = get("", "v1", "bindings");
        assert_eq!(bindings.storage, None);
        assert!(!bindings.shares_storage_with(bindings));
    }

    #[test]
    fn upstream_etcd_key_prefixes_keep_historic_names() {
        let prefix = |g: &str, p: &str| get(g, "v1", p).storage.map(|s| s.key_prefix);
        assert_eq!(prefix("", "nodes"), Some("minions"));
        assert_eq!(prefix("", "services"), Some("services/specs"));
        assert_eq!(prefix("", "endpoints"), Some("services/endpoints"));
        assert_eq!(prefix("", "replicationcontrollers"), Some("controllers"));
        assert_eq!(prefix("apps", "deployments"), Some("deployments"));
        assert_eq!(prefix("events.k8s.io", "events"), Some("events"));
        assert_eq!(prefix("networking.k8s.io", "ingresses"), Some("ingress"));
    }

    #[test]
    fn groups_are_in_upstream_discovery_order_with_preferred_versions() {
        let names: Vec<&str> = groups().iter().map(|g| g.name).collect();
        assert_eq!(
            names,
            [
                "",
                "apps",
                "events.k8s.io",
                "authentication.k8s.io",
                "authorization.k8s.io",
                "autoscaling",
                "batch",
                "networking.k8s.io",
                "policy",
                "rbac.authorization.k8s.io",
                "storage.k8s.io",
                "scheduling.k8s.io",
                "coordination.k8s.io",
                "discovery.k8s.io",
            ]
        );
        let autoscaling = find_group("autoscaling");
        assert_eq!(autoscaling.map(|g| g.preferred_version()), Some("v2"));
        assert_eq!(
            autoscaling.map(|g| g.versions.iter().map(|v| v.version).collect::<Vec<_>>()),
            Some(vec!["v2", "v1"])
        );
        assert_eq!(find_group("apps").map(|g| g.priority), Some(17800));
        assert!(find_group("").is_some_and(|g| g.is_core()));
        assert_eq!(
            find_group("networking.k8s.io").map(|g| g.priority),
            Some(17200)
        );
        assert!(find_group("certificates.k8s.io").is_none());
    }

    #[test]
    fn lookups_by_kind_and_plural_agree() {
        for r in RESOURCES {
            assert_eq!(find_by_kind(r.group, r.version, r.kind), Some(r));
            assert_eq!(find_by_plural(r.group, r.version, r.plural), Some(r));
        }
        assert!(find_by_kind("apps", "v1", "Pod").is_none());
        assert!(find_by_plural("", "v2", "pods").is_none());
        let apps: Vec<&str> = resources_in("apps", "v1").map(|r| r.plural).collect();
        assert_eq!(
            apps,
            [
                "controllerrevisions",
                "daemonsets",
                "deployments",
                "replicasets",
                "statefulsets"
            ]
        );
        assert_eq!(resources().len(), RESOURCES.len());
    }

    #[test]
    fn helpers_spell_api_version_list_kind_and_paths() {
        let d = get("apps", "v1", "deployments");
        assert_eq!(d.api_version(), "apps/v1");
        assert_eq!(d.list_kind(), "DeploymentList");
        assert_eq!(d.base_path(), "/apis/apps/v1");
        assert!(d.is_namespaced());
        assert!(!get("", "v1", "nodes").is_namespaced());
        assert_eq!(Scope::Cluster.as_str(), "Cluster");
        assert_eq!(Scope::Namespaced.as_str(), "Namespaced");
    }

    #[test]
    fn bindings_and_componentstatuses_have_their_narrow_verbs() {
        assert_eq!(get("", "v1", "bindings").verbs, &["create"]);
        let cs = get("", "v1", "componentstatuses");
        assert_eq!(cs.verbs, &["get", "list"]);
        assert_eq!(cs.scope, Scope::Cluster);
    }

    // ---- a small SHA-256 (FIPS 180-4) to check storage version hashes ----

    fn storage_version_hash(gvk: &str) -> String {
        let digest = sha256(gvk.as_bytes());
        base64(&digest[..8])
    }

    fn base64(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    fn sha256(message: &[u8]) -> [u8; 32] {
        const K: [u32; 64] = [
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
            0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
            0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
            0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
            0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
            0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
            0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
            0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
            0xc67178f2,
        ];
        let mut h: [u32; 8] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
            0x5be0cd19,
        ];
        let mut data = message.to_vec();
        let bit_len = (message.len() as u64) * 8;
        data.push(0x80);
        while data.len() % 64 != 56 {
            data.push(0);
        }
        data.extend_from_slice(&bit_len.to_be_bytes());
        for block in data.chunks(64) {
            let mut w = [0u32; 64];
            for (i, word) in block.chunks(4).enumerate() {
                w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
            }
            for i in 16..64 {
                let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
                let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16]
                    .wrapping_add(s0)
                    .wrapping_add(w[i - 7])
                    .wrapping_add(s1);
            }
            let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
            for i in 0..64 {
                let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
                let ch = (e & f) ^ (!e & g);
                let t1 = hh
                    .wrapping_add(s1)
                    .wrapping_add(ch)
                    .wrapping_add(K[i])
                    .wrapping_add(w[i]);
                let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
                let maj = (a & b) ^ (a & c) ^ (b & c);
                let t2 = s0.wrapping_add(maj);
                hh = g;
                g = f;
                f = e;
                e = d.wrapping_add(t1);
                d = c;
                c = b;
                b = a;
                a = t1.wrapping_add(t2);
            }
            for (state, v) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
                *state = state.wrapping_add(v);
            }
        }
        let mut out = [0u8; 32];
        for (i, word) in h.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    #[test]
    fn sha256_helper_matches_the_fips_abc_vector() {
        // FIPS 180-4 example: SHA-256("abc").
        let d = sha256(b"abc");
        assert_eq!(d[..4], [0xba, 0x78, 0x16, 0xbf]);
        assert_eq!(d[28..], [0xf2, 0x00, 0x15, 0xad]);
        assert_eq!(base64(b"Ma"), "TWE=");
    }
}
