//! The review APIs kubectl's `auth` commands call, answered and never
//! stored: `authentication.k8s.io` SelfSubjectReview (`kubectl auth
//! whoami`) and TokenReview (what a webhook or proxy asks about a bearer
//! token), and `authorization.k8s.io` SelfSubjectAccessReview,
//! SubjectAccessReview, LocalSubjectAccessReview (`kubectl auth can-i`) and
//! SelfSubjectRulesReview (`kubectl auth can-i --list`).
//!
//! Bosun's authorizer allows every authenticated user everything (RBAC
//! objects are stored but not enforced), so access reviews answer
//! `allowed: true` and the rules review lists one rule granting all.

use crate::status::{ApiError, Cause};
use crate::tls::Identity;
use bosun_types::resources::ResourceInfo;
use serde_json::{Map, Value, json};

/// Whether `resource` is one of the review APIs this module answers.
pub fn is_review(resource: &ResourceInfo) -> bool {
    matches!(
        (resource.group, resource.plural),
        (
            "authentication.k8s.io",
            "selfsubjectreviews" | "tokenreviews"
        ) | (
            "authorization.k8s.io",
            "selfsubjectaccessreviews"
                | "subjectaccessreviews"
                | "localsubjectaccessreviews"
                | "selfsubjectrulesreviews"
        )
    )
}

/// The groups a caller has: its own, and `system:authenticated`, as
/// upstream's authenticator adds (unless impersonation already set it, or
/// `system:unauthenticated` for the anonymous user).
fn groups_of(caller: &Identity) -> Vec<String> {
    let mut groups = caller.groups.clone();
    if !groups
        .iter()
        .any(|g| g == "system:authenticated" || g == "system:unauthenticated")
    {
        groups.push("system:authenticated".to_owned());
    }
    groups
}

/// The audiences a TokenReview asks about: its `spec.audiences`, or the
/// apiserver's own when it names none, as upstream.
pub fn review_audiences(review: &Value) -> Vec<String> {
    crate::tokens::audiences_or_default(review.get("spec").unwrap_or(&Value::Null))
}

/// A `FieldValueInvalid` cause; `value` is already rendered as Go prints it.
fn invalid_cause(field: &str, value: &str, message: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: {value}: {message}"),
        field: field.into(),
    }
}

fn invalid(resource: &ResourceInfo, field: &str, value: &str, message: &str) -> ApiError {
    ApiError::invalid(resource, "", vec![invalid_cause(field, value, message)])
}

/// Checks an access review's spec as upstream's
/// `ValidateSubjectAccessReviewSpec`: exactly one kind of attributes, and
/// (except for self reviews) a user or a group.
fn check_access_spec(resource: &ResourceInfo, spec: &Value) -> Result<(), ApiError> {
    let has = |key: &str| spec.get(key).is_some_and(|v| !v.is_null());
    let (resources, non_resources) = (has("resourceAttributes"), has("nonResourceAttributes"));
    if resources && non_resources {
        return Err(invalid(
            resource,
            "spec.nonResourceAttributes",
            "\"object\"",
            "cannot be specified in combination with resourceAttributes",
        ));
    }
    if !resources && !non_resources {
        return Err(invalid(
            resource,
            "spec.resourceAttributes",
            "\"null\"",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ));
    }
    if resource.plural != "selfsubjectaccessreviews" {
        let user = spec.get("user").and_then(Value::as_str).unwrap_or("");
        let groups = spec
            .get("groups")
            .and_then(Value::as_array)
            .is_some_and(|g| !g.is_empty());
        if user.is_empty() && !groups {
            return Err(invalid(
                resource,
                "spec.user",
                "\"\"",
                "at least one of user or group must be specified",
            ));
        }
    }
    Ok(())
}

/// What upstream's `ValidateLocalSubjectAccessReview` adds: the resource
/// namespace asked about must be the review's own, and non-resource
/// attributes are refused (a 422 naming the fields).
fn check_local_access_spec(
    resource: &ResourceInfo,
    spec: &Value,
    namespace: &str,
) -> Result<(), ApiError> {
    let mut causes = Vec::new();
    if let Some(attributes) = spec.get("resourceAttributes").filter(|v| !v.is_null()) {
        let asked = attributes
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        if asked != namespace {
            causes.push(invalid_cause(
                "spec.resourceAttributes.namespace",
                &format!("{asked:?}"),
                "must match metadata.namespace",
            ));
        }
    }
    if let Some(attributes) = spec.get("nonResourceAttributes").filter(|v| !v.is_null()) {
        let text = |key: &str| attributes.get(key).and_then(Value::as_str).unwrap_or("");
        causes.push(invalid_cause(
            "spec.nonResourceAttributes",
            &format!(
                "&authorization.NonResourceAttributes{{Path:{:?}, Verb:{:?}}}",
                text("path"),
                text("verb")
            ),
            "disallowed on this kind of request",
        ));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(resource, "", causes))
    }
}

/// The review as answered: the request with its `status` filled in.
///
/// `token_user` is who a TokenReview's token authenticates as, and for
/// which of the review's audiences (`None`: nobody); other reviews ignore
/// it.
pub fn answer(
    resource: &ResourceInfo,
    namespace: Option<&str>,
    mut review: Value,
    caller: &Identity,
    token_user: Option<&(Identity, Vec<String>)>,
) -> Result<Value, ApiError> {
    let Some(object) = review.as_object_mut() else {
        return Err(ApiError::bad_request("the review must be a JSON object"));
    };
    object.insert("kind".into(), json!(resource.kind));
    object.insert(
        "apiVersion".into(),
        json!(format!("{}/{}", resource.group, resource.version)),
    );
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(metadata) = metadata.as_object_mut() {
        metadata.entry("creationTimestamp").or_insert(Value::Null);
        if let Some(namespace) = namespace {
            metadata.insert("namespace".into(), json!(namespace));
        }
    }
    let spec = object.get("spec").cloned().unwrap_or(Value::Null);
    let status = match resource.plural {
        "selfsubjectreviews" => json!({"userInfo": {
            "username": caller.user,
            "groups": groups_of(caller),
        }}),
        "tokenreviews" => {
            let token = spec.get("token").and_then(Value::as_str).unwrap_or("");
            if token.is_empty() {
                return Err(invalid(
                    resource,
                    "spec.token",
                    "\"\"",
                    "token must be specified",
                ));
            }
            match token_user {
                Some((user, audiences)) => json!({
                    "authenticated": true,
                    "user": {"username": user.user, "groups": groups_of(user)},
                    "audiences": audiences,
                }),
                None => json!({"user": {}, "error": "invalid bearer token"}),
            }
        }
        "selfsubjectrulesreviews" => json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false,
        }),
        _ => {
            check_access_spec(resource, &spec)?;
            if resource.plural == "localsubjectaccessreviews" {
                check_local_access_spec(resource, &spec, namespace.unwrap_or(""))?;
            }
            json!({"allowed": true})
        }
    };
    object.insert("status".into(), status);
    Ok(review)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_types::resources::find_by_plural;

    fn admin() -> Identity {
        Identity {
            user: "kubernetes-admin".into(),
            groups: vec!["system:masters".into()],
        }
    }

    fn res(group: &str, plural: &str) -> &'static ResourceInfo {
        find_by_plural(group, "v1", plural).expect("known resource")
    }

    #[test]
    fn whoami_reports_the_certificate_identity_and_authenticated_group() {
        let r = res("authentication.k8s.io", "selfsubjectreviews");
        let review = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview", "metadata": {}});
        let answered = answer(r, None, review, &admin(), None).expect("answered");
        assert_eq!(
            answered["status"]["userInfo"],
            json!({"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]})
        );
    }

    #[test]
    fn access_reviews_are_allowed_and_need_exactly_one_kind_of_attributes() {
        let r = res("authorization.k8s.io", "selfsubjectaccessreviews");
        let review =
            json!({"spec": {"resourceAttributes": {"verb": "create", "resource": "pods"}}});
        let answered = answer(r, None, review, &admin(), None).expect("answered");
        assert_eq!(answered["status"], json!({"allowed": true}));
        // A self review's spec has no user or groups, and none are added.
        assert_eq!(answered["spec"].get("user"), None);
        let e = answer(r, None, json!({"spec": {}}), &admin(), None).expect_err("no attributes");
        assert_eq!(e.code, 422);
        assert!(
            e.message.contains(
                "exactly one of nonResourceAttributes or resourceAttributes must be specified"
            ),
            "{}",
            e.message
        );
        let sar = res("authorization.k8s.io", "subjectaccessreviews");
        let nobody =
            json!({"spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}});
        let e = answer(sar, None, nobody, &admin(), None).expect_err("no user");
        assert!(
            e.message
                .contains("at least one of user or group must be specified")
        );
    }

    #[test]
    fn a_local_review_asks_about_its_own_namespace_and_resources_only() {
        let r = res("authorization.k8s.io", "localsubjectaccessreviews");
        let review =
            |attributes: Value| json!({"spec": {"user": "u", "resourceAttributes": attributes}});
        let same = review(json!({"namespace": "a", "verb": "get", "resource": "pods"}));
        let answered = answer(r, Some("a"), same, &admin(), None).expect("answered");
        assert_eq!(answered["status"], json!({"allowed": true}));
        let other = review(json!({"namespace": "b", "verb": "get", "resource": "pods"}));
        let e = answer(r, Some("a"), other, &admin(), None).expect_err("other namespace");
        assert_eq!(e.code, 422);
        assert!(
            e.message.contains(
                "spec.resourceAttributes.namespace: Invalid value: \"b\": must match metadata.namespace"
            ),
            "{}",
            e.message
        );
        let non_resource = json!({"spec": {"user": "u", "nonResourceAttributes": {"path": "/healthz", "verb": "get"}}});
        let e = answer(r, Some("a"), non_resource, &admin(), None).expect_err("non-resource");
        assert_eq!(e.code, 422);
        assert!(
            e.message.contains("disallowed on this kind of request"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_token_review_answers_with_the_shared_audiences() {
        let r = res("authentication.k8s.io", "tokenreviews");
        let review = json!({"spec": {"token": "t", "audiences": ["vault"]}});
        assert_eq!(review_audiences(&review), vec!["vault".to_owned()]);
        assert_eq!(
            review_audiences(&json!({"spec": {"token": "t"}})),
            vec![crate::tokens::ISSUER.to_owned()]
        );
        let user = (admin(), vec!["vault".to_owned()]);
        let answered = answer(r, None, review, &admin(), Some(&user)).expect("answered");
        assert_eq!(answered["status"]["authenticated"], true);
        assert_eq!(answered["status"]["audiences"], json!(["vault"]));
    }

    #[test]
    fn the_rules_review_grants_everything() {
        let r = res("authorization.k8s.io", "selfsubjectrulesreviews");
        let answered = answer(
            r,
            None,
            json!({"spec": {"namespace": "default"}}),
            &admin(),
            None,
        )
        .expect("answered");
        assert_eq!(
            answered["status"]["resourceRules"][0]["verbs"],
            json!(["*"])
        );
        assert_eq!(answered["status"]["incomplete"], false);
    }
}
