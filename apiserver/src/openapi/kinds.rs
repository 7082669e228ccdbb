//! The built-in kinds: every `k8s-openapi` (feature `v1_33`) type that implements
//! [`k8s_openapi::Resource`], with its group, version and kind taken from that
//! trait and its schema from [`schemars::JsonSchema`].
//!
//! The list names the types; everything else (GVK, list kind, schema) comes from
//! the type itself.

use std::borrow::Cow;

use k8s_openapi::{ListableResource, Resource};
use schemars::{JsonSchema, Schema, SchemaGenerator};

/// One built-in kind and how to produce its schema.
pub(crate) struct BuiltinKind {
    /// API group (`""` for core).
    pub group: &'static str,
    /// Version within the group.
    pub version: &'static str,
    /// Kind, e.g. `Pod`.
    pub kind: &'static str,
    /// The list kind (e.g. `PodList`) for kinds that have one.
    pub list_kind: Option<&'static str>,
    /// The schema's name, e.g. `io.k8s.api.core.v1.Pod`.
    pub schema_name: fn() -> Cow<'static, str>,
    /// Adds the kind's schema (and every schema it refers to) to the generator.
    pub generate: fn(&mut SchemaGenerator) -> Schema,
}

fn kind<T: Resource + JsonSchema>() -> BuiltinKind {
    BuiltinKind {
        group: T::GROUP,
        version: T::VERSION,
        kind: T::KIND,
        list_kind: None,
        schema_name: T::schema_name,
        generate: SchemaGenerator::subschema_for::<T>,
    }
}

fn listable<T: ListableResource + JsonSchema>() -> BuiltinKind {
    BuiltinKind {
        list_kind: Some(T::LIST_KIND),
        ..kind::<T>()
    }
}

/// All built-in kinds of Kubernetes v1.33 known to `k8s-openapi`.
pub(crate) fn builtin_kinds() -> Vec<BuiltinKind> {
    use k8s_openapi::{api, apiextensions_apiserver, apimachinery, kube_aggregator};
    vec![
        listable::<api::admissionregistration::v1::MutatingWebhookConfiguration>(),
        listable::<api::admissionregistration::v1::ValidatingAdmissionPolicy>(),
        listable::<api::admissionregistration::v1::ValidatingAdmissionPolicyBinding>(),
        listable::<api::admissionregistration::v1::ValidatingWebhookConfiguration>(),
        listable::<api::admissionregistration::v1alpha1::MutatingAdmissionPolicy>(),
        listable::<api::admissionregistration::v1alpha1::MutatingAdmissionPolicyBinding>(),
        listable::<api::admissionregistration::v1beta1::ValidatingAdmissionPolicy>(),
        listable::<api::admissionregistration::v1beta1::ValidatingAdmissionPolicyBinding>(),
        listable::<api::apiserverinternal::v1alpha1::StorageVersion>(),
        listable::<api::apps::v1::ControllerRevision>(),
        listable::<api::apps::v1::DaemonSet>(),
        listable::<api::apps::v1::Deployment>(),
        listable::<api::apps::v1::ReplicaSet>(),
        listable::<api::apps::v1::StatefulSet>(),
        kind::<api::authentication::v1::SelfSubjectReview>(),
        kind::<api::authentication::v1::TokenRequest>(),
        kind::<api::authentication::v1::TokenReview>(),
        kind::<api::authorization::v1::LocalSubjectAccessReview>(),
        kind::<api::authorization::v1::SelfSubjectAccessReview>(),
        kind::<api::authorization::v1::SelfSubjectRulesReview>(),
        kind::<api::authorization::v1::SubjectAccessReview>(),
        listable::<api::autoscaling::v1::HorizontalPodAutoscaler>(),
        kind::<api::autoscaling::v1::Scale>(),
        listable::<api::autoscaling::v2::HorizontalPodAutoscaler>(),
        listable::<api::batch::v1::CronJob>(),
        listable::<api::batch::v1::Job>(),
        listable::<api::certificates::v1::CertificateSigningRequest>(),
        listable::<api::certificates::v1alpha1::ClusterTrustBundle>(),
        listable::<api::certificates::v1beta1::ClusterTrustBundle>(),
        listable::<api::coordination::v1::Lease>(),
        listable::<api::coordination::v1alpha2::LeaseCandidate>(),
        listable::<api::coordination::v1beta1::LeaseCandidate>(),
        kind::<api::core::v1::Binding>(),
        listable::<api::core::v1::ComponentStatus>(),
        listable::<api::core::v1::ConfigMap>(),
        listable::<api::core::v1::Endpoints>(),
        listable::<api::core::v1::Event>(),
        listable::<api::core::v1::LimitRange>(),
        listable::<api::core::v1::Namespace>(),
        listable::<api::core::v1::Node>(),
        listable::<api::core::v1::PersistentVolume>(),
        listable::<api::core::v1::PersistentVolumeClaim>(),
        listable::<api::core::v1::Pod>(),
        listable::<api::core::v1::PodTemplate>(),
        listable::<api::core::v1::ReplicationController>(),
        listable::<api::core::v1::ResourceQuota>(),
        listable::<api::core::v1::Secret>(),
        listable::<api::core::v1::Service>(),
        listable::<api::core::v1::ServiceAccount>(),
        listable::<api::discovery::v1::EndpointSlice>(),
        listable::<api::events::v1::Event>(),
        listable::<api::flowcontrol::v1::FlowSchema>(),
        listable::<api::flowcontrol::v1::PriorityLevelConfiguration>(),
        listable::<api::networking::v1::Ingress>(),
        listable::<api::networking::v1::IngressClass>(),
        listable::<api::networking::v1::IPAddress>(),
        listable::<api::networking::v1::NetworkPolicy>(),
        listable::<api::networking::v1::ServiceCIDR>(),
        listable::<api::networking::v1beta1::IPAddress>(),
        listable::<api::networking::v1beta1::ServiceCIDR>(),
        listable::<api::node::v1::RuntimeClass>(),
        kind::<api::policy::v1::Eviction>(),
        listable::<api::policy::v1::PodDisruptionBudget>(),
        listable::<api::rbac::v1::ClusterRole>(),
        listable::<api::rbac::v1::ClusterRoleBinding>(),
        listable::<api::rbac::v1::Role>(),
        listable::<api::rbac::v1::RoleBinding>(),
        listable::<api::resource::v1alpha3::DeviceClass>(),
        listable::<api::resource::v1alpha3::DeviceTaintRule>(),
        listable::<api::resource::v1alpha3::ResourceClaim>(),
        listable::<api::resource::v1alpha3::ResourceClaimTemplate>(),
        listable::<api::resource::v1alpha3::ResourceSlice>(),
        listable::<api::resource::v1beta1::DeviceClass>(),
        listable::<api::resource::v1beta1::ResourceClaim>(),
        listable::<api::resource::v1beta1::ResourceClaimTemplate>(),
        listable::<api::resource::v1beta1::ResourceSlice>(),
        listable::<api::resource::v1beta2::DeviceClass>(),
        listable::<api::resource::v1beta2::ResourceClaim>(),
        listable::<api::resource::v1beta2::ResourceClaimTemplate>(),
        listable::<api::resource::v1beta2::ResourceSlice>(),
        listable::<api::scheduling::v1::PriorityClass>(),
        listable::<api::storage::v1::CSIDriver>(),
        listable::<api::storage::v1::CSINode>(),
        listable::<api::storage::v1::CSIStorageCapacity>(),
        listable::<api::storage::v1::StorageClass>(),
        listable::<api::storage::v1::VolumeAttachment>(),
        listable::<api::storage::v1alpha1::VolumeAttributesClass>(),
        listable::<api::storage::v1beta1::VolumeAttributesClass>(),
        listable::<api::storagemigration::v1alpha1::StorageVersionMigration>(),
        listable::<apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>(
        ),
        kind::<apimachinery::pkg::apis::meta::v1::APIGroup>(),
        kind::<apimachinery::pkg::apis::meta::v1::APIGroupList>(),
        kind::<apimachinery::pkg::apis::meta::v1::APIResourceList>(),
        kind::<apimachinery::pkg::apis::meta::v1::APIVersions>(),
        kind::<apimachinery::pkg::apis::meta::v1::Status>(),
        listable::<kube_aggregator::pkg::apis::apiregistration::v1::APIService>(),
    ]
}
