//! Writes: create, update (main resource and subresources), patch, delete.

use super::meta::{self, metadata_mut};
use super::options::{DeleteOptions, ListParams, WriteOptions};
use super::strategy::{self, Strategy};
use super::{Outcome, Registry, set_type_meta};
use crate::admission::{self, Attributes, Operation};
use crate::apply;
use crate::codec;
use crate::patch::{self, PatchKind};
use crate::status::{ApiError, Cause};
use crate::{defaults, validation};
use bosun_storage::{KeyValue, StorageError};
use bosun_types::resources::{ResourceInfo, find_by_plural};
use serde_json::{Map, Value, json};

/// How many times a write retries after losing a race it did not ask to lose
/// (no client-supplied resourceVersion).
const MAX_RETRIES: usize = 64;

/// What an update replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The object (status kept as stored when the kind has a status subresource).
    Main,
    /// Only `status`.
    Status,
    /// Only `spec.finalizers` (namespaces' `finalize`).
    Finalize,
}

impl Target {
    /// The subresource a write to this target goes through, as recorded in
    /// managedFields.
    pub fn subresource(self) -> Option<&'static str> {
        match self {
            Self::Main => None,
            Self::Status => Some("status"),
            Self::Finalize => Some("finalize"),
        }
    }

    /// The target for a subresource name.
    pub fn for_subresource(sub: Option<&str>) -> Result<Self, ApiError> {
        match sub {
            None => Ok(Self::Main),
            Some("status") => Ok(Self::Status),
            Some("finalize") => Ok(Self::Finalize),
            Some(_) => Err(ApiError::method_not_allowed()),
        }
    }
}

/// How a write is recorded in `metadata.managedFields`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Tracking<'a> {
    /// A create, update or non-apply patch by `manager` through
    /// `subresource`: recorded once the object is defaulted and validated.
    Update {
        /// The field manager.
        manager: &'a str,
        /// The subresource written through.
        subresource: Option<&'a str>,
    },
    /// Recorded while building the object (server-side apply).
    Recorded,
}

/// The manager of a write: the request's `fieldManager` (the route fills in
/// upstream's User-Agent default), or the server itself.
pub(super) fn manager_of(options: &WriteOptions) -> &str {
    options
        .field_manager
        .as_deref()
        .unwrap_or(apply::SERVER_MANAGER)
}

/// Jobs get a selector on their own uid and matching template labels unless
/// `spec.manualSelector` is set, as upstream's job strategy does on create.
fn generate_job_selector(resource: &ResourceInfo, job: &mut Value) {
    if (resource.group, resource.plural) != ("batch", "jobs") {
        return;
    }
    if job.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let uid = meta::meta_str(job, "uid").to_owned();
    let name = meta::name(job).to_owned();
    let Some(spec) = job.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    spec.insert(
        "selector".into(),
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
    );
    let template = spec.entry("template").or_insert_with(|| json!({}));
    let Some(template) = template.as_object_mut() else {
        return;
    };
    let metadata = template.entry("metadata").or_insert_with(|| json!({}));
    let Some(metadata) = metadata.as_object_mut() else {
        return;
    };
    let labels = metadata.entry("labels").or_insert_with(|| json!({}));
    let Some(labels) = labels.as_object_mut() else {
        return;
    };
    for (key, value) in [
        ("batch.kubernetes.io/controller-uid", &uid),
        ("batch.kubernetes.io/job-name", &name),
        ("controller-uid", &uid),
        ("job-name", &name),
    ] {
        labels.insert(key.into(), json!(value));
    }
}

/// Whether the create strategy fills fields of its own that the creator
/// must not own: a namespace's `kubernetes` finalizer, a job's selector.
fn strategy_fills_on_create(resource: &ResourceInfo) -> bool {
    matches!(
        (resource.group, resource.plural),
        ("", "namespaces") | ("batch", "jobs")
    )
}

fn is_service(resource: &ResourceInfo) -> bool {
    (resource.group, resource.plural) == ("", "services")
}

fn namespaces() -> &'static ResourceInfo {
    find_by_plural("", "v1", "namespaces").expect("the resource table has namespaces")
}

/// Checks `apiVersion`/`kind` of a body against the endpoint and fills them
/// when absent.
fn check_type(resource: &ResourceInfo, object: &mut Value) -> Result<(), ApiError> {
    let Some(map) = object.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    };
    let want_version = resource.api_version();
    let api_version = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let kind = map
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !kind.is_empty() && kind != resource.kind {
        return Err(ApiError::bad_request(format!(
            "{kind} in version \"{api_version}\" cannot be handled as a {}: no kind \"{kind}\" is registered for version \"{want_version}\"",
            resource.kind
        )));
    }
    if !api_version.is_empty() && api_version != want_version {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({want_version})"
        )));
    }
    set_type_meta(object, resource);
    Ok(())
}

/// Runs validation (of a defaulted, admitted object); problems become 422.
fn validate(resource: &ResourceInfo, object: &Value, old: Option<&Value>) -> Result<(), ApiError> {
    let errors = validation::validate(resource.group, resource.version, resource.kind, object, old);
    if errors.is_empty() {
        return Ok(());
    }
    let causes = errors
        .iter()
        .map(|e| Cause {
            reason: e.kind.cause_type().to_owned(),
            message: e.body(),
            field: e.field.clone(),
        })
        .collect();
    Err(ApiError::invalid(resource, meta::name(object), causes))
}

fn spec_changed(new: &Value, old: &Value) -> bool {
    new.get("spec") != old.get("spec")
}

/// Copies system-owned metadata from the stored object onto an update.
fn keep_system_metadata(new: &mut Value, old: &Value, strategy: &Strategy) {
    let old_meta = meta::metadata(old).cloned().unwrap_or_default();
    let annotations_changed =
        meta::metadata(new).and_then(|m| m.get("annotations")) != old_meta.get("annotations");
    let bump = strategy.tracks_generation
        && (spec_changed(new, old)
            || (strategy.annotations_bump_generation && annotations_changed));
    let meta = metadata_mut(new);
    for field in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "namespace",
    ] {
        match old_meta.get(field) {
            Some(v) => meta.insert(field.into(), v.clone()),
            None => meta.remove(field),
        };
    }
    meta.remove("selfLink");
    if strategy.tracks_generation {
        let generation = old_meta
            .get("generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        meta.insert(
            "generation".into(),
            json!(if bump { generation + 1 } else { generation }),
        );
    } else {
        match old_meta.get("generation") {
            Some(v) => meta.insert("generation".into(), v.clone()),
            None => meta.remove("generation"),
        };
    }
}

/// Replaces `field` of `new` with the stored object's (or removes it).
fn keep_field(new: &mut Value, old: &Value, field: &str) {
    if let Some(map) = new.as_object_mut() {
        match old.get(field) {
            Some(v) => map.insert(field.into(), v.clone()),
            None => map.remove(field),
        };
    }
}

/// Whether `name` conflicts with the URL's.
fn check_name(url_name: &str, object: &Value) -> Result<(), ApiError> {
    let body_name = meta::name(object);
    if !body_name.is_empty() && body_name != url_name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({url_name})"
        )));
    }
    Ok(())
}

/// Resolves the namespace of a body against the URL's.
fn check_namespace(
    resource: &ResourceInfo,
    namespace: Option<&str>,
    object: &mut Value,
) -> Result<(), ApiError> {
    let body_ns = meta::namespace(object).to_owned();
    let meta = metadata_mut(object);
    if !resource.is_namespaced() {
        meta.remove("namespace");
        return Ok(());
    }
    let Some(ns) = namespace else {
        return Err(ApiError::bad_request(
            "the server could not find the requested resource: a namespace is required",
        ));
    };
    if !body_ns.is_empty() && body_ns != ns {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    meta.insert("namespace".into(), json!(ns));
    Ok(())
}

/// The status a kind starts with on create, as upstream's PrepareForCreate.
fn initial_status(resource: &ResourceInfo, object: &Value) -> Option<Value> {
    match (resource.group, resource.plural) {
        ("", "pods") => Some(json!({"phase": "Pending", "qosClass": qos_class(object)})),
        ("", "namespaces") => Some(json!({"phase": "Active"})),
        ("", "persistentvolumeclaims" | "persistentvolumes") => Some(json!({"phase": "Pending"})),
        _ => Some(json!({})),
    }
}

/// The pod's QoS class from its containers' requests and limits.
fn qos_class(pod: &Value) -> &'static str {
    let containers: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .filter_map(|k| pod.pointer(&format!("/spec/{k}")).and_then(Value::as_array))
        .flatten()
        .collect();
    let mut any = false;
    let mut guaranteed = true;
    for c in &containers {
        let requests = c.pointer("/resources/requests").and_then(Value::as_object);
        let limits = c.pointer("/resources/limits").and_then(Value::as_object);
        let relevant = |m: Option<&Map<String, Value>>, r: &str| m.and_then(|m| m.get(r)).cloned();
        for r in ["cpu", "memory"] {
            let (req, lim) = (relevant(requests, r), relevant(limits, r));
            if req.is_some() || lim.is_some() {
                any = true;
            }
            // Requests default to limits, so a limit alone is a match.
            if lim.is_none() || (req.is_some() && req != lim) {
                guaranteed = false;
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

impl Registry {
    /// Fails unless namespace `ns` exists and is not being deleted.
    async fn ensure_namespace_active(&self, ns: &str) -> Result<(), ApiError> {
        // The cache answers most checks; a miss (it may lag a namespace
        // created a moment ago) asks storage, as upstream's lifecycle
        // admission falls back to a live read.
        let object = self.lookup(namespaces(), None, ns).await?;
        if meta::is_deleting(&object)
            || object.pointer("/status/phase").and_then(Value::as_str) == Some("Terminating")
        {
            return Err(ApiError::namespace_terminating(ns));
        }
        Ok(())
    }

    /// Creates an object, recording its fields as owned by the request's
    /// field manager.
    pub async fn create(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        object: Value,
        options: &WriteOptions,
    ) -> Result<Outcome, ApiError> {
        let tracking = Tracking::Update {
            manager: manager_of(options),
            subresource: None,
        };
        self.create_tracked(resource, namespace, object, options, tracking)
            .await
    }

    /// Creates an object; `tracking` says how its managedFields come about.
    async fn create_tracked(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        mut object: Value,
        options: &WriteOptions,
        tracking: Tracking<'_>,
    ) -> Result<Outcome, ApiError> {
        check_type(resource, &mut object)?;
        check_namespace(resource, namespace, &mut object)?;
        let strategy = strategy::for_resource(resource);
        let meta = metadata_mut(&mut object);
        for field in [
            "uid",
            "resourceVersion",
            "selfLink",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            meta.remove(field);
        }
        meta.insert("uid".into(), json!(meta::new_uid()));
        meta.insert("creationTimestamp".into(), json!(meta::now_rfc3339()));
        if strategy.tracks_generation {
            meta.insert("generation".into(), json!(1));
        } else {
            meta.remove("generation");
        }
        let generate_name = meta
            .get("generateName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let explicit_name = meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        // As upstream, the creator owns what it sent plus the defaults of
        // decoding, not what the strategy sets afterwards: status (a reset
        // field anyway), a namespace's finalizer, a job's generated
        // selector, what admission adds. Kinds whose strategy fills fields
        // on create are recorded from what was sent; the others once
        // defaulted below, before admission.
        let mut record_after_defaults = None;
        if let Tracking::Update {
            manager,
            subresource,
        } = tracking
        {
            if strategy_fills_on_create(resource) {
                let mut sent = object.clone();
                defaults::apply_defaults(
                    resource.group,
                    resource.version,
                    resource.kind,
                    &mut sent,
                );
                apply::record(resource, subresource, None, &mut sent, manager);
                let managed = meta::metadata(&sent)
                    .and_then(|m| m.get("managedFields"))
                    .cloned();
                let object_meta = metadata_mut(&mut object);
                match managed {
                    Some(managed) => object_meta.insert("managedFields".into(), managed),
                    None => object_meta.remove("managedFields"),
                };
            } else {
                record_after_defaults = Some((manager, subresource));
            }
        }
        if strategy.status_subresource
            && !strategy.keep_status_on_create
            && let (Some(status), Some(map)) =
                (initial_status(resource, &object), object.as_object_mut())
        {
            map.insert("status".into(), status);
        }
        if let Some(ns) = namespace.filter(|_| resource.is_namespaced()) {
            self.ensure_namespace_active(ns).await.map_err(|e| {
                if e.code == 404 {
                    ApiError::not_found(namespaces(), ns)
                } else {
                    e
                }
            })?;
        }
        // Admission reports the name sent, or the prefix of one to generate
        // (names are generated after admission upstream).
        let admission_name = match (explicit_name.as_str(), generate_name.as_str()) {
            ("", "") => "Unknown".to_owned(),
            ("", prefix) => prefix.to_owned(),
            (name, _) => name.to_owned(),
        };
        let attributes = Attributes {
            resource,
            subresource: None,
            operation: Operation::Create,
            name: &admission_name,
            old: None,
        };
        // A generated name that collides is drawn again, as upstream does.
        let attempts = if explicit_name.is_empty() && !generate_name.is_empty() {
            8
        } else {
            1
        };
        for attempt in 0..attempts {
            if explicit_name.is_empty() && !generate_name.is_empty() {
                metadata_mut(&mut object).insert(
                    "name".into(),
                    json!(format!("{generate_name}{}", meta::random_suffix())),
                );
            }
            let mut candidate = object.clone();
            apply::normalize_reset(&mut candidate);
            defaults::apply_create_defaults(
                resource.group,
                resource.version,
                resource.kind,
                &mut candidate,
            );
            generate_job_selector(resource, &mut candidate);
            defaults::apply_defaults(
                resource.group,
                resource.version,
                resource.kind,
                &mut candidate,
            );
            if let Some((manager, subresource)) = record_after_defaults {
                apply::record(resource, subresource, None, &mut candidate, manager);
            }
            admission::mutate(self, &attributes, &mut candidate).await?;
            if !options.skip_validation {
                validate(resource, &candidate, None)?;
                admission::validate(self, &attributes, &candidate).await?;
            }
            let name = meta::name(&candidate).to_owned();
            if options.dry_run {
                return Ok(Outcome {
                    object: candidate,
                    created: true,
                    warnings: Vec::new(),
                });
            }
            let key = Self::key(resource, namespace, &name);
            let service = is_service(resource);
            if service {
                // An existing Service holds its addresses: report it as
                // existing rather than as an allocation failure.
                if self.storage.get(&key).await.is_ok() {
                    return Err(ApiError::already_exists(resource, &name));
                }
                let owner = format!("{}/{name}", namespace.unwrap_or_default());
                self.allocate_service(&mut candidate, &owner).await?;
            }
            let created = match codec::encode_as(resource, &candidate) {
                Ok(bytes) => self.storage.create(&key, bytes).await,
                Err(e) => Err(StorageError::Internal(e.message)),
            };
            if created.is_err() && service {
                self.release_service(&candidate).await;
            }
            match created {
                Ok(revision) => {
                    metadata_mut(&mut candidate)
                        .insert("resourceVersion".into(), json!(revision.to_string()));
                    return Ok(Outcome {
                        object: candidate,
                        created: true,
                        warnings: Vec::new(),
                    });
                }
                Err(StorageError::AlreadyExists { .. }) if attempt + 1 < attempts => continue,
                Err(e) => return Err(ApiError::from_storage(e, resource, &name)),
            }
        }
        Err(ApiError::internal("could not generate a unique name"))
    }

    /// Replaces an object (PUT), or its status or finalizers.
    pub async fn update(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        mut object: Value,
        target: Target,
        options: &WriteOptions,
    ) -> Result<Outcome, ApiError> {
        check_type(resource, &mut object)?;
        check_name(name, &object)?;
        metadata_mut(&mut object).insert("name".into(), json!(name));
        let precondition =
            codec::parse_resource_version(meta::meta_str(&object, "resourceVersion"))?;
        let strategy = strategy::for_resource(resource);
        if target == Target::Main
            && strategy.allow_create_on_update
            && let Err(e) = self.get(resource, namespace, name).await
        {
            if e.code == 404 {
                return self.create(resource, namespace, object, options).await;
            }
            return Err(e);
        }
        let tracking = Tracking::Update {
            manager: manager_of(options),
            subresource: target.subresource(),
        };
        self.guaranteed_update(
            resource,
            namespace,
            name,
            target.subresource(),
            precondition,
            options,
            tracking,
            |old| {
                let mut new = object.clone();
                check_namespace(resource, namespace, &mut new)?;
                if is_service(resource) && target == Target::Main {
                    super::services::preserve_allocations(&mut new, old);
                }
                Ok(apply_target(new, old, target, &strategy))
            },
        )
        .await
    }

    /// Applies a JSON, merge or strategic merge patch to the stored object
    /// (or its status) and writes it.
    pub async fn patch(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        patch: patch::Patch<'_>,
        target: Target,
        options: &WriteOptions,
    ) -> Result<Outcome, ApiError> {
        if patch.kind == PatchKind::Apply {
            return self
                .apply(resource, namespace, name, patch.body, target, options)
                .await;
        }
        let strategy = strategy::for_resource(resource);
        let schema = patch::schema_for(resource);
        if patch.kind == PatchKind::Strategic && schema.is_none() {
            return Err(ApiError::unsupported_media_type(
                "application/strategic-merge-patch+json",
                patch::ACCEPTED_CUSTOM,
            ));
        }
        let tracking = Tracking::Update {
            manager: manager_of(options),
            subresource: target.subresource(),
        };
        let mut warnings = Vec::new();
        let mut outcome = self
            .guaranteed_update(
                resource,
                namespace,
                name,
                target.subresource(),
                None,
                options,
                tracking,
                |old| {
                    warnings.clear();
                    let mut patched = patch::apply(patch.kind, old, patch.body, schema)?;
                    check_type(resource, &mut patched)?;
                    check_name(name, &patched)?;
                    // A resourceVersion in the patch is a precondition.
                    let wanted = meta::meta_str(&patched, "resourceVersion");
                    if !wanted.is_empty() && wanted != meta::meta_str(old, "resourceVersion") {
                        return Err(ApiError::stale(resource, name));
                    }
                    let patched = check_patched_fields(
                        resource,
                        name,
                        patch,
                        patched,
                        options,
                        &mut warnings,
                    )?;
                    Ok(apply_target(patched, old, target, &strategy))
                },
            )
            .await?;
        outcome.warnings.append(&mut warnings);
        Ok(outcome)
    }

    /// Server-side apply (`application/apply-patch+yaml`): merges the
    /// applied configuration into the stored object by field ownership,
    /// recording the applier's fields; creates the object when it does not
    /// exist (main resource only). Conflicts with other managers are 409
    /// unless `force`.
    pub async fn apply(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        body: &[u8],
        target: Target,
        options: &WriteOptions,
    ) -> Result<Outcome, ApiError> {
        let applied = apply::decode_applied(body)?;
        let manager = options.field_manager.as_deref().unwrap_or_default();
        let field_manager = apply::field_manager(resource, target.subresource());
        let strategy = strategy::for_resource(resource);
        let now = meta::now_rfc3339();
        let apply_error = |e: apply::ApplyError| apply::api_error(&e);
        let warnings = apply_strictness(body, options)?;
        for _ in 0..MAX_RETRIES {
            let updated = self
                .guaranteed_update(
                    resource,
                    namespace,
                    name,
                    target.subresource(),
                    None,
                    options,
                    Tracking::Recorded,
                    |old| {
                        let merged = field_manager
                            .apply(Some(old), &applied, manager, options.force, &now)
                            .map_err(apply_error)?;
                        let mut new = merged.object;
                        check_type(resource, &mut new)?;
                        check_name(name, &new)?;
                        check_namespace(resource, namespace, &mut new)?;
                        if is_service(resource) && target == Target::Main {
                            super::services::preserve_allocations(&mut new, old);
                        }
                        Ok(apply_target(new, old, target, &strategy))
                    },
                )
                .await;
            match updated {
                Err(e) if e.code == 404 && target == Target::Main => {}
                other => {
                    return other.map(|mut outcome| {
                        outcome.warnings.extend(warnings.iter().cloned());
                        outcome
                    });
                }
            }
            // Absent: apply to nothing and create, as upstream's apply does.
            let merged = field_manager
                .apply(None, &applied, manager, options.force, &now)
                .map_err(apply_error)?;
            let mut object = merged.object;
            check_name(name, &object)?;
            metadata_mut(&mut object).insert("name".into(), json!(name));
            match self
                .create_tracked(resource, namespace, object, options, Tracking::Recorded)
                .await
            {
                // Created meanwhile by someone else: apply to theirs.
                Err(e) if e.code == 409 && e.reason == "AlreadyExists" => continue,
                other => {
                    return other.map(|mut outcome| {
                        outcome.warnings.extend(warnings.iter().cloned());
                        outcome
                    });
                }
            }
        }
        Err(retries_exhausted(resource, name))
    }

    /// The stored key-value at `key` and its object, decoded, with
    /// `apiVersion` and `kind` set.
    async fn read_stored(
        &self,
        key: &[u8],
        resource: &ResourceInfo,
        name: &str,
    ) -> Result<(KeyValue, Value), ApiError> {
        let current = self
            .storage
            .get(key)
            .await
            .map_err(|e| ApiError::from_storage(e, resource, name))?;
        let mut object = codec::decode_as(resource, &current)?;
        set_type_meta(&mut object, resource);
        Ok((current, object))
    }

    /// Read-modify-write of the stored object alone, as upstream's binding
    /// writes the pod: no defaulting, admission or validation of the object
    /// (those ran on the request's own object), no managedFields. `change`
    /// edits the decoded object in place, so no copy of it is made; a
    /// change that leaves it as stored writes nothing. Races are retried.
    /// Returns the object's revision afterwards.
    pub(super) async fn update_stored<F>(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        mut change: F,
    ) -> Result<i64, ApiError>
    where
        F: FnMut(&mut Value) -> Result<(), ApiError>,
    {
        let key = Self::key(resource, namespace, name);
        for _ in 0..MAX_RETRIES {
            let (current, mut object) = self.read_stored(&key, resource, name).await?;
            change(&mut object)?;
            let bytes = codec::encode_as(resource, &object)?;
            if bytes == current.value {
                return Ok(current.mod_revision);
            }
            match self.storage.update(&key, bytes, current.mod_revision).await {
                Ok(revision) => return Ok(revision),
                Err(StorageError::Conflict { .. }) => continue,
                Err(e) => return Err(ApiError::from_storage(e, resource, name)),
            }
        }
        Err(retries_exhausted(resource, name))
    }

    /// Read-modify-write with upstream's rules: a client precondition that is
    /// stale is a 409; races the client did not ask about are retried; an
    /// update that changes nothing writes nothing; an object being deleted
    /// whose last finalizer goes is deleted. The object `build` returns is
    /// defaulted, admitted as an update through `subresource`, and validated
    /// (unless `options.skip_validation`).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn guaranteed_update<F>(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        subresource: Option<&str>,
        precondition: Option<i64>,
        options: &WriteOptions,
        tracking: Tracking<'_>,
        mut build: F,
    ) -> Result<Outcome, ApiError>
    where
        F: FnMut(&Value) -> Result<Value, ApiError>,
    {
        let key = Self::key(resource, namespace, name);
        for _ in 0..MAX_RETRIES {
            let (current, old) = self.read_stored(&key, resource, name).await?;
            if precondition.is_some_and(|p| p != current.mod_revision) {
                return Err(ApiError::stale(resource, name));
            }
            let mut new = build(&old)?;
            if let Tracking::Update { .. } = tracking {
                apply::normalize_reset(&mut new);
            }
            defaults::apply_defaults(resource.group, resource.version, resource.kind, &mut new);
            if let Tracking::Update {
                manager,
                subresource,
            } = tracking
            {
                apply::record(resource, subresource, Some(&old), &mut new, manager);
            }
            let attributes = Attributes {
                resource,
                subresource,
                operation: Operation::Update,
                name,
                old: Some(&old),
            };
            admission::mutate(self, &attributes, &mut new).await?;
            if !options.skip_validation {
                validate(resource, &new, Some(&old))?;
                admission::validate(self, &attributes, &new).await?;
            }
            let bytes = codec::encode_as(resource, &new)?;
            if bytes == current.value {
                return Ok(Outcome {
                    object: old,
                    created: false,
                    warnings: Vec::new(),
                });
            }
            if options.dry_run {
                return Ok(Outcome {
                    object: new,
                    created: false,
                    warnings: Vec::new(),
                });
            }
            let service = is_service(resource) && !options.skip_validation;
            if service {
                let owner = format!("{}/{name}", namespace.unwrap_or_default());
                self.reallocate_node_ports(&mut new, &old, &owner).await?;
            }
            let bytes = if service {
                codec::encode_as(resource, &new)?
            } else {
                bytes
            };
            // As upstream: an update finishes a deletion only when nothing
            // is left to wait for — no finalizers and no grace period still
            // running (a terminating pod's kubelet writes status meanwhile).
            let grace_pending = meta::metadata(&new)
                .and_then(|m| m.get("deletionGracePeriodSeconds"))
                .and_then(Value::as_i64)
                .is_some_and(|g| g > 0);
            let finished = meta::is_deleting(&new)
                && meta::finalizers(&new).is_empty()
                && !grace_pending
                && namespace_finalized(resource, &new);
            let written = if finished {
                self.storage
                    .delete(&key, Some(current.mod_revision))
                    .await
                    .map(|(rev, _)| rev)
            } else {
                self.storage.update(&key, bytes, current.mod_revision).await
            };
            if service {
                match &written {
                    Err(_) => self.release_new_node_ports(&new, &old).await,
                    Ok(_) if finished => self.release_service(&new).await,
                    Ok(_) => {}
                }
            }
            match written {
                Ok(revision) => {
                    metadata_mut(&mut new)
                        .insert("resourceVersion".into(), json!(revision.to_string()));
                    return Ok(Outcome {
                        object: new,
                        created: false,
                        warnings: Vec::new(),
                    });
                }
                Err(StorageError::Conflict { .. }) if precondition.is_none() => continue,
                Err(StorageError::Conflict { .. }) => return Err(ApiError::stale(resource, name)),
                Err(e) => return Err(ApiError::from_storage(e, resource, name)),
            }
        }
        Err(retries_exhausted(resource, name))
    }

    /// Deletes an object, gracefully or through finalizers where upstream
    /// would. Returns the object's last state and whether it is gone.
    pub async fn delete(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<(Value, bool), ApiError> {
        options.validate()?;
        let key = Self::key(resource, namespace, name);
        for _ in 0..MAX_RETRIES {
            let (current, mut object) = self.read_stored(&key, resource, name).await?;
            check_delete_preconditions(resource, name, &object, &current, options)?;
            let plan = plan_deletion(resource, &object, options);
            let (result, gone) = match plan {
                Deletion::Now => {
                    if options.dry_run {
                        return Ok((object, true));
                    }
                    let deleted = self
                        .storage
                        .delete(&key, Some(current.mod_revision))
                        .await
                        .map(|(rev, _)| rev);
                    if deleted.is_ok() && is_service(resource) {
                        self.release_service(&object).await;
                    }
                    (deleted, true)
                }
                Deletion::Later(updated) => {
                    if options.dry_run || updated == object {
                        return Ok((updated, false));
                    }
                    object = updated;
                    (
                        self.storage
                            .update(
                                &key,
                                codec::encode_as(resource, &object)?,
                                current.mod_revision,
                            )
                            .await,
                        false,
                    )
                }
            };
            match result {
                Ok(revision) => {
                    metadata_mut(&mut object)
                        .insert("resourceVersion".into(), json!(revision.to_string()));
                    return Ok((object, gone));
                }
                Err(StorageError::Conflict { .. }) => continue,
                Err(e) => return Err(ApiError::from_storage(e, resource, name)),
            }
        }
        Err(retries_exhausted(resource, name))
    }

    /// Deletes every object a list selects; returns the list of their last
    /// states, as upstream's DeleteCollection.
    pub async fn delete_collection(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        params: &ListParams,
        options: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let (items, revision, _) = self
            .list_items(
                resource,
                namespace,
                &ListParams {
                    limit: None,
                    ..params.clone()
                },
            )
            .await?;
        let mut deleted = Vec::new();
        for item in items {
            let ns = meta::namespace(&item).to_owned();
            let name = meta::name(&item).to_owned();
            match self
                .delete(
                    resource,
                    Some(ns.as_str()).filter(|n| !n.is_empty()),
                    &name,
                    options,
                )
                .await
            {
                Ok((object, _)) => deleted.push(object),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(json!({
            "kind": resource.list_kind(),
            "apiVersion": resource.api_version(),
            "metadata": {"resourceVersion": revision.to_string()},
            "items": deleted,
        }))
    }
}

/// Field validation of an apply body, as upstream: repeated keys fail a
/// `Strict` request with 400, become warnings under `Warn`. (Unknown
/// fields are the field manager's to reject: they are not in the schema.)
fn apply_strictness(body: &[u8], options: &WriteOptions) -> Result<Vec<String>, ApiError> {
    use crate::fieldcheck;
    use crate::registry::options::FieldValidation;
    if options.field_validation == FieldValidation::Ignore {
        return Ok(Vec::new());
    }
    let problems: Vec<String> = fieldcheck::duplicate_fields(body)
        .iter()
        .map(|p| fieldcheck::duplicate_field_error(p))
        .collect();
    match options.field_validation {
        _ if problems.is_empty() => Ok(Vec::new()),
        FieldValidation::Strict => Err(ApiError::bad_request(format!(
            "error strict decoding YAML: {}",
            fieldcheck::strict_decoding_message(&problems)
        ))),
        _ => Ok(problems),
    }
}

/// Field validation of a patch, as upstream: repeated keys in the patch
/// document and unknown fields in the patched object fail a `Strict` request
/// with 422, become warnings under `Warn`; unknown fields are dropped.
fn check_patched_fields(
    resource: &ResourceInfo,
    name: &str,
    patch: patch::Patch<'_>,
    patched: Value,
    options: &WriteOptions,
    warnings: &mut Vec<String>,
) -> Result<Value, ApiError> {
    use crate::fieldcheck;
    use crate::registry::options::FieldValidation;
    let mut problems: Vec<String> = fieldcheck::duplicate_fields(patch.body)
        .iter()
        .map(|p| fieldcheck::duplicate_field_error(p))
        .collect();
    let unknown =
        fieldcheck::unknown_fields(resource.group, resource.version, resource.kind, &patched);
    problems.extend(unknown.iter().map(|p| fieldcheck::unknown_field_error(p)));
    let patched = if unknown.is_empty() {
        patched
    } else {
        fieldcheck::prune_unknown(resource.group, resource.version, resource.kind, &patched)
            .map_err(|m| crate::request::cannot_handle(resource, &m))?
    };
    if problems.is_empty() {
        return Ok(patched);
    }
    match options.field_validation {
        FieldValidation::Strict => {
            let body = String::from_utf8_lossy(patch.body);
            let shown: String = body.chars().take(256).collect();
            Err(ApiError::invalid(
                resource,
                name,
                vec![Cause {
                    reason: "FieldValueInvalid".into(),
                    message: format!(
                        "Invalid value: \"{}\": {}",
                        shown.replace('"', "\\\""),
                        fieldcheck::strict_decoding_message(&problems)
                    ),
                    field: "patch".into(),
                }],
            ))
        }
        FieldValidation::Warn => {
            warnings.extend(problems);
            Ok(patched)
        }
        FieldValidation::Ignore => Ok(patched),
    }
}

/// Builds the object to store for an update of `target` over `old`.
fn apply_target(mut new: Value, old: &Value, target: Target, strategy: &Strategy) -> Value {
    match target {
        Target::Main => {
            if strategy.status_subresource {
                keep_field(&mut new, old, "status");
            }
            keep_system_metadata(&mut new, old, strategy);
            new
        }
        Target::Status => {
            // Everything but status (and managedFields) stays as stored.
            let mut merged = old.clone();
            if let (Some(map), Some(status)) = (merged.as_object_mut(), new.get("status")) {
                map.insert("status".into(), status.clone());
            }
            if let Some(managed) = meta::metadata(&new).and_then(|m| m.get("managedFields")) {
                metadata_mut(&mut merged).insert("managedFields".into(), managed.clone());
            }
            if strategy.status_keeps_annotations {
                // As upstream's Deployment status strategy, which resets
                // only spec and labels.
                match meta::metadata(&new).and_then(|m| m.get("annotations")) {
                    Some(annotations) => {
                        metadata_mut(&mut merged).insert("annotations".into(), annotations.clone());
                    }
                    None => {
                        metadata_mut(&mut merged).remove("annotations");
                    }
                }
            }
            merged
        }
        Target::Finalize => {
            let mut merged = old.clone();
            let finalizers = new
                .pointer("/spec/finalizers")
                .cloned()
                .unwrap_or(json!([]));
            if let Some(spec) = merged.get_mut("spec").and_then(Value::as_object_mut) {
                spec.insert("finalizers".into(), finalizers);
            } else if let Some(map) = merged.as_object_mut() {
                map.insert("spec".into(), json!({"finalizers": finalizers}));
            }
            merged
        }
    }
}

/// A namespace also waits for its `spec.finalizers`.
fn namespace_finalized(resource: &ResourceInfo, object: &Value) -> bool {
    if (resource.group, resource.plural) != ("", "namespaces") {
        return true;
    }
    object
        .pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .is_none_or(|f| f.is_empty())
}

fn check_delete_preconditions(
    resource: &ResourceInfo,
    name: &str,
    object: &Value,
    current: &KeyValue,
    options: &DeleteOptions,
) -> Result<(), ApiError> {
    if let Some(uid) = options.precondition_uid.as_deref() {
        let actual = meta::meta_str(object, "uid");
        if uid != actual {
            return Err(ApiError::conflict(
                resource,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
                ),
            ));
        }
    }
    if let Some(rv) = options.precondition_resource_version.as_deref()
        && rv != current.mod_revision.to_string()
    {
        return Err(ApiError::conflict(
            resource,
            name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                current.mod_revision
            ),
        ));
    }
    Ok(())
}

/// What a delete does now.
enum Deletion {
    /// Remove the key.
    Now,
    /// Store this object (deletionTimestamp set, finalizers added).
    Later(Value),
}

fn plan_deletion(resource: &ResourceInfo, object: &Value, options: &DeleteOptions) -> Deletion {
    let mut updated = object.clone();
    let now = meta::now_seconds();
    let is_pod = (resource.group, resource.plural) == ("", "pods");
    let is_namespace = (resource.group, resource.plural) == ("", "namespaces");

    // Propagation finalizers for the garbage collector.
    let mut finalizers = meta::finalizers(&updated);
    match options.propagation_policy.as_deref() {
        Some("Orphan") => {
            finalizers.retain(|f| f != "foregroundDeletion");
            if !finalizers.iter().any(|f| f == "orphan") {
                finalizers.push("orphan".into());
            }
        }
        Some("Foreground") => {
            finalizers.retain(|f| f != "orphan");
            if !finalizers.iter().any(|f| f == "foregroundDeletion") {
                finalizers.push("foregroundDeletion".into());
            }
        }
        _ => {}
    }
    // Pods on a node get a grace period for the kubelet to stop them.
    let grace = if is_pod {
        let bound = object
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        let terminal = matches!(
            object.pointer("/status/phase").and_then(Value::as_str),
            Some("Succeeded" | "Failed")
        );
        let requested = options
            .grace_period_seconds
            .or_else(|| {
                object
                    .pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_i64)
            })
            .unwrap_or(30);
        if bound && !terminal {
            requested.max(0)
        } else {
            0
        }
    } else {
        0
    };
    // A namespace also waits for its spec.finalizers (the namespace controller).
    let namespace_waits = is_namespace
        && object
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
    if grace == 0 && finalizers.is_empty() && !namespace_waits {
        return Deletion::Now;
    }

    let meta_map = metadata_mut(&mut updated);
    if !finalizers.is_empty() {
        meta_map.insert("finalizers".into(), json!(finalizers));
    }
    let existing_deadline = meta_map
        .get("deletionTimestamp")
        .and_then(Value::as_str)
        .and_then(meta::parse_timestamp);
    let deadline = now + grace;
    match existing_deadline {
        // A second delete may only shorten the grace period.
        Some(existing) if existing <= deadline => {}
        _ => {
            meta_map.insert(
                "deletionTimestamp".into(),
                json!(meta::format_timestamp(deadline)),
            );
            meta_map.insert("deletionGracePeriodSeconds".into(), json!(grace));
        }
    }
    if is_namespace && let Some(map) = updated.as_object_mut() {
        let status = map.entry("status").or_insert_with(|| json!({}));
        if let Some(status) = status.as_object_mut() {
            status.insert("phase".into(), json!("Terminating"));
        }
    }
    Deletion::Later(updated)
}

/// The error of a read-modify-write that lost every retry to other writers.
fn retries_exhausted(resource: &ResourceInfo, name: &str) -> ApiError {
    ApiError::conflict(
        resource,
        name,
        "too many concurrent updates, please try again",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qos_class_follows_requests_and_limits() {
        let best = json!({"spec": {"containers": [{"name": "a"}]}});
        assert_eq!(qos_class(&best), "BestEffort");
        let guaranteed = json!({"spec": {"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}});
        assert_eq!(qos_class(&guaranteed), "Guaranteed");
        let burstable =
            json!({"spec": {"containers": [{"resources": {"requests": {"cpu": "1"}}}]}});
        assert_eq!(qos_class(&burstable), "Burstable");
    }

    #[test]
    fn main_updates_keep_status_and_bump_generation_on_spec_change() {
        let strategy = Strategy {
            status_subresource: true,
            tracks_generation: true,
            annotations_bump_generation: false,
            status_keeps_annotations: false,
            allow_create_on_update: false,
            keep_status_on_create: false,
        };
        let old = json!({"metadata": {"name": "a", "uid": "u", "generation": 3}, "spec": {"replicas": 1}, "status": {"replicas": 1}});
        let new = json!({"metadata": {"name": "a", "uid": "other"}, "spec": {"replicas": 2}, "status": {"replicas": 9}});
        let stored = apply_target(new, &old, Target::Main, &strategy);
        assert_eq!(stored["metadata"]["uid"], "u");
        assert_eq!(stored["metadata"]["generation"], 4);
        assert_eq!(stored["status"]["replicas"], 1);
        let same_spec =
            json!({"metadata": {"name": "a", "labels": {"x": "y"}}, "spec": {"replicas": 1}});
        assert_eq!(
            apply_target(same_spec, &old, Target::Main, &strategy)["metadata"]["generation"],
            3
        );
        let status = apply_target(
            json!({"spec": {"replicas": 7}, "status": {"replicas": 5}}),
            &old,
            Target::Status,
            &strategy,
        );
        assert_eq!(
            (
                status["spec"]["replicas"].clone(),
                status["status"]["replicas"].clone()
            ),
            (json!(1), json!(5))
        );
    }
}
