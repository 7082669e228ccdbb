//! Admission: the built-in plugins of upstream's default set that Bosun
//! reproduces, run by the registry's write path (creates, updates, patches,
//! server-side apply, dry runs included) in upstream's order:
//!
//! ```text
//! decode + defaults → [mutate] → validation → [validate] → storage
//! ```
//!
//! * [`mutate`] (mutating admission): `DefaultTolerationSeconds`,
//!   `Priority` (pods) and `DefaultStorageClass` (claims);
//! * [`validate`] (validating admission): `Priority` (PriorityClasses).
//!
//! Each plugin is a file of pure functions over JSON objects; this module
//! decides which apply to a write and does the reads they need, through the
//! registry's lookups ([`Registry::lookup`], [`Registry::lookup_all`]).
//! Subresources (`status`, `binding`, `scale`, …) are not admitted, as
//! upstream's plugins ignore them. Managed fields are recorded before
//! [`mutate`], so what admission adds is owned by nobody, as upstream.

pub mod default_storage_class;
pub mod default_toleration_seconds;
pub mod priority;

use crate::registry::Registry;
use crate::status::ApiError;
use bosun_types::resources::{ResourceInfo, find_by_plural};
use priority::{ClassFacts, PriorityError, Source};
use serde_json::Value;

/// The kind of write being admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A create (POST, create-on-update, server-side apply of a new object).
    Create,
    /// An update (PUT, PATCH, server-side apply of an existing object).
    Update,
}

/// What admission knows of a write (upstream's `admission.Attributes`).
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    /// The resource written.
    pub resource: &'a ResourceInfo,
    /// The subresource written through, if any.
    pub subresource: Option<&'a str>,
    /// Create or update.
    pub operation: Operation,
    /// The object's name for messages: the URL's, else the body's, else
    /// its `generateName` (names are generated after admission upstream).
    pub name: &'a str,
    /// The stored object, on updates.
    pub old: Option<&'a Value>,
}

impl Attributes<'_> {
    /// Whether the write is to `group`/`plural` itself, not a subresource.
    fn is(&self, group: &str, plural: &str) -> bool {
        self.subresource.is_none() && (self.resource.group, self.resource.plural) == (group, plural)
    }
}

/// Why admission refused a write.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    /// The Priority plugin refused it: 403 Forbidden.
    #[error(transparent)]
    Priority(#[from] PriorityError),
    /// Reading another object failed (the read's own error is answered:
    /// a storage outage is a 503, not a refusal).
    #[error("{0}")]
    Read(ApiError),
}

impl AdmissionError {
    /// The API error answered for this refusal of the write `attributes`
    /// describes.
    pub fn into_api_error(self, attributes: &Attributes<'_>) -> ApiError {
        match self {
            Self::Priority(why) => {
                ApiError::forbidden_object(attributes.resource, attributes.name, why)
            }
            Self::Read(e) => e,
        }
    }
}

/// Runs the mutating plugins over `object`, the defaulted object about to
/// be validated.
pub async fn mutate(
    registry: &Registry,
    attributes: &Attributes<'_>,
    object: &mut Value,
) -> Result<(), ApiError> {
    mutate_object(registry, attributes, object)
        .await
        .map_err(|e| e.into_api_error(attributes))
}

/// Runs the validating plugins over `object`, the validated object about
/// to be stored.
pub async fn validate(
    registry: &Registry,
    attributes: &Attributes<'_>,
    object: &Value,
) -> Result<(), ApiError> {
    validate_object(registry, attributes, object)
        .await
        .map_err(|e| e.into_api_error(attributes))
}

async fn mutate_object(
    registry: &Registry,
    attributes: &Attributes<'_>,
    object: &mut Value,
) -> Result<(), AdmissionError> {
    if attributes.is("", "pods") {
        default_toleration_seconds::admit(object);
        match (attributes.operation, attributes.old) {
            (Operation::Create, _) => admit_pod_priority(registry, object).await?,
            (Operation::Update, Some(old)) => priority::preserve_on_update(object, old),
            (Operation::Update, None) => {}
        }
    } else if attributes.is("", "persistentvolumeclaims")
        && attributes.operation == Operation::Create
        && !default_storage_class::has_class(object)
    {
        let classes = registry
            .lookup_all(resource("storage.k8s.io", "storageclasses")?)
            .await
            .map_err(AdmissionError::Read)?;
        default_storage_class::admit(object, &classes);
    }
    Ok(())
}

async fn validate_object(
    registry: &Registry,
    attributes: &Attributes<'_>,
    object: &Value,
) -> Result<(), AdmissionError> {
    if attributes.is("scheduling.k8s.io", "priorityclasses") {
        let class = ClassFacts::of(object);
        if class.global_default {
            let existing = priority_classes(registry).await?;
            priority::check_single_default(&class, &existing, attributes.operation)?;
        }
    }
    Ok(())
}

/// Resolves a new pod's priority from the class it names or the default.
async fn admit_pod_priority(registry: &Registry, pod: &mut Value) -> Result<(), AdmissionError> {
    match priority::requested_class(pod).map(str::to_owned) {
        Some(name) => {
            let classes = resource("scheduling.k8s.io", "priorityclasses")?;
            let class = match registry.lookup(classes, None, &name).await {
                Ok(class) => ClassFacts::of(&class),
                Err(e) if e.code == 404 => return Err(PriorityError::NoSuchClass(name).into()),
                Err(e) => return Err(AdmissionError::Read(e)),
            };
            priority::admit_create(pod, Source::Named(&class))?;
        }
        None => {
            let existing = priority_classes(registry).await?;
            priority::admit_create(pod, Source::Default(priority::global_default(&existing)))?;
        }
    }
    Ok(())
}

/// Every PriorityClass, as admission reads them.
async fn priority_classes(registry: &Registry) -> Result<Vec<ClassFacts>, AdmissionError> {
    // Every pod create without a class reads them: decoded straight into
    // the few fields admission needs.
    let classes = registry
        .lookup_all_as::<priority::StoredClass>(resource("scheduling.k8s.io", "priorityclasses")?)
        .await
        .map_err(AdmissionError::Read)?;
    Ok(classes.into_iter().map(ClassFacts::from).collect())
}

/// A v1 resource of the built-in table.
fn resource(group: &str, plural: &str) -> Result<&'static ResourceInfo, AdmissionError> {
    find_by_plural(group, "v1", plural).ok_or_else(|| {
        AdmissionError::Read(ApiError::internal(format!(
            "no {plural}.{group} in the resource table"
        )))
    })
}
