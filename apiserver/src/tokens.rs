//! Service account tokens: the `serviceaccounts/token` subresource
//! (TokenRequest, what `kubectl create token` calls) issues them, and bearer
//! authentication accepts them, as upstream's bound service account tokens.
//!
//! A token is a JWT signed ES256 with a key the apiserver creates in its
//! data directory on first start (`pki/service-account.key`). Its claims
//! are upstream's: issuer and audience
//! `https://kubernetes.default.svc.cluster.local`, `sub`
//! `system:serviceaccount:<namespace>:<name>`, and the account's namespace,
//! name and uid under `kubernetes.io`. A presented token must verify, be
//! within its lifetime, name this audience, and its service account must
//! still exist with the same uid; the caller is then the service account,
//! in the groups `system:serviceaccounts` and
//! `system:serviceaccounts:<namespace>`.
//!
//! Apiservers sharing one etcd each sign with their own key unless they
//! share the data directory's key file, so a token is only accepted by the
//! apiserver that issued it otherwise.

use crate::status::{ApiError, Cause};
use crate::tls::Identity;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _};
use serde_json::{Value, json};
use std::path::Path;

/// The issuer and default audience, as upstream's default.
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// A token's lifetime when the request names none.
const DEFAULT_SECONDS: i64 = 3600;
/// The shortest lifetime a request may ask for.
const MIN_SECONDS: i64 = 600;
/// The longest lifetime a request may ask for (2^32 s).
const MAX_SECONDS: i64 = 1 << 32;

/// Why the signing key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The key file does not hold a usable P-256 key.
    #[error("{0}: not an ECDSA P-256 private key")]
    Invalid(String),
}

/// Signs and verifies service account tokens.
pub struct Issuer {
    key: EcdsaKeyPair,
    kid: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The claims an accepted token carries about its service account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The account's namespace.
    pub namespace: String,
    /// The account's name.
    pub name: String,
    /// The account's uid when the token was issued.
    pub uid: String,
}

impl Claims {
    /// The identity the token authenticates as.
    pub fn identity(&self) -> Identity {
        Identity {
            user: format!("system:serviceaccount:{}:{}", self.namespace, self.name),
            groups: vec![
                "system:serviceaccounts".to_owned(),
                format!("system:serviceaccounts:{}", self.namespace),
            ],
        }
    }
}

impl Issuer {
    /// The issuer whose key is `<pki_dir>/service-account.key`, created
    /// when missing.
    pub fn load_or_create(pki_dir: &Path) -> Result<Self, KeyError> {
        let path = pki_dir.join("service-account.key");
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        if !path.exists() {
            std::fs::create_dir_all(pki_dir).map_err(io)?;
            let key = rcgen::KeyPair::generate()
                .map_err(|_| KeyError::Invalid(path.display().to_string()))?;
            create_private(&path, &key.serialize_pem()).map_err(io)?;
        }
        let pem = std::fs::read_to_string(&path).map_err(io)?;
        let invalid = || KeyError::Invalid(path.display().to_string());
        let der = rcgen::KeyPair::from_pem(&pem)
            .map_err(|_| invalid())?
            .serialize_der();
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
            .map_err(|_| invalid())?;
        let digest = ring::digest::digest(&ring::digest::SHA256, key.public_key().as_ref());
        let kid = URL_SAFE_NO_PAD.encode(digest.as_ref());
        Ok(Self { key, kid, rng })
    }

    /// A signed token for the service account, valid from `now` for
    /// `seconds`, for `audiences`.
    pub fn issue(
        &self,
        account: &Claims,
        audiences: &[String],
        now: i64,
        seconds: i64,
    ) -> Result<String, ApiError> {
        let header = json!({"alg": "ES256", "kid": self.kid});
        let claims = json!({
            "aud": audiences,
            "exp": now + seconds,
            "iat": now,
            "nbf": now,
            "iss": ISSUER,
            "jti": uuid::Uuid::new_v4().to_string(),
            "kubernetes.io": {
                "namespace": account.namespace,
                "serviceaccount": {"name": account.name, "uid": account.uid},
            },
            "sub": format!("system:serviceaccount:{}:{}", account.namespace, account.name),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign(&self.rng, signing_input.as_bytes())
            .map_err(|_| ApiError::internal("signing the token failed"))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }

    /// The service account a presented token names, if it verifies, is
    /// current at `now` and is meant for this apiserver; `None` otherwise
    /// (a token not issued here, expired, tampered with, or for another
    /// audience).
    pub fn verify(&self, token: &str, now: i64) -> Option<Claims> {
        self.verify_for(token, now, &[ISSUER.to_owned()])
            .map(|(claims, _)| claims)
    }

    /// As [`Issuer::verify`], for a token meant for any of `audiences`
    /// (what a TokenReview asks about); with the audiences the token and
    /// `audiences` share, as upstream's authenticator answers.
    pub fn verify_for(
        &self,
        token: &str,
        now: i64,
        audiences: &[String],
    ) -> Option<(Claims, Vec<String>)> {
        let mut parts = token.split('.');
        let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let public = signature::UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            self.key.public_key().as_ref(),
        );
        let signed = &token[..header.len() + 1 + claims.len()];
        public.verify(signed.as_bytes(), &signature).ok()?;
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header["alg"] != "ES256" {
            return None;
        }
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
        let in_time = claims["nbf"].as_i64().is_some_and(|t| t <= now + 60)
            && claims["exp"].as_i64().is_some_and(|t| now < t);
        let shared: Vec<String> = claims["aud"]
            .as_array()
            .map(|a| {
                audiences
                    .iter()
                    .filter(|wanted| a.iter().any(|v| v == wanted.as_str()))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if !in_time || claims["iss"] != ISSUER || shared.is_empty() {
            return None;
        }
        let account = &claims["kubernetes.io"];
        let claims = Claims {
            namespace: account["namespace"].as_str()?.to_owned(),
            name: account["serviceaccount"]["name"].as_str()?.to_owned(),
            uid: account["serviceaccount"]["uid"].as_str()?.to_owned(),
        };
        Some((claims, shared))
    }
}

/// Creates `path` holding `contents`, readable by its owner only from
/// the start: written to a private temporary file, then linked into place,
/// so a reader never sees it half written. When another process created
/// it first, its key is kept.
fn create_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(contents.as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| match std::fs::hard_link(&temporary, path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    });
    let _ = std::fs::remove_file(&temporary);
    linked
}

/// A TokenRequest's wanted lifetime and audiences, checked as upstream.
pub fn requested(request: &Value, name: &str) -> Result<(i64, Vec<String>), ApiError> {
    let spec = request.get("spec").cloned().unwrap_or(Value::Null);
    let seconds = spec
        .get("expirationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_SECONDS);
    let invalid = |message: String| {
        let resource =
            bosun_types::resources::find_by_kind("authentication.k8s.io", "v1", "TokenRequest")
                .or_else(|| bosun_types::resources::find_by_plural("", "v1", "serviceaccounts"));
        let cause = Cause {
            reason: "FieldValueInvalid".into(),
            message,
            field: "spec.expirationSeconds".into(),
        };
        match resource {
            Some(r) => ApiError::invalid(r, name, vec![cause]),
            None => ApiError::bad_request(cause.message),
        }
    };
    if seconds < MIN_SECONDS {
        return Err(invalid(format!(
            "Invalid value: {seconds}: may not specify a duration less than 10 minutes"
        )));
    }
    if seconds > MAX_SECONDS {
        return Err(invalid(format!(
            "Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds"
        )));
    }
    Ok((seconds, audiences_or_default(&spec)))
}

/// A TokenRequest's or TokenReview's `spec.audiences`, or the apiserver's
/// own audience when it names none, as upstream.
pub fn audiences_or_default(spec: &Value) -> Vec<String> {
    spec.get("audiences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .filter(|a: &Vec<String>| !a.is_empty())
        .unwrap_or_else(|| vec![ISSUER.to_owned()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Claims {
        Claims {
            namespace: "ci".into(),
            name: "bot".into(),
            uid: "u-1".into(),
        }
    }

    #[test]
    fn issued_tokens_verify_until_they_expire_and_keep_their_key() {
        let dir = tempfile::tempdir().expect("dir");
        let issuer = Issuer::load_or_create(dir.path()).expect("issuer");
        let token = issuer
            .issue(&account(), &[ISSUER.to_owned()], 1_000, 600)
            .expect("token");
        assert_eq!(issuer.verify(&token, 1_100), Some(account()));
        assert_eq!(issuer.verify(&token, 1_600), None, "expired");
        let again = Issuer::load_or_create(dir.path()).expect("reloaded");
        assert_eq!(
            again.verify(&token, 1_100),
            Some(account()),
            "same key after a restart"
        );
        assert_eq!(
            account().identity().groups,
            ["system:serviceaccounts", "system:serviceaccounts:ci"]
        );
    }

    #[test]
    fn foreign_tampered_or_other_audience_tokens_are_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let issuer = Issuer::load_or_create(dir.path()).expect("issuer");
        let other_dir = tempfile::tempdir().expect("dir");
        let other = Issuer::load_or_create(other_dir.path()).expect("other");
        let foreign = other
            .issue(&account(), &[ISSUER.to_owned()], 1_000, 600)
            .expect("token");
        assert_eq!(issuer.verify(&foreign, 1_100), None);
        let token = issuer
            .issue(&account(), &[ISSUER.to_owned()], 1_000, 600)
            .expect("token");
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap_or(0) + 2, 'x');
        assert_eq!(issuer.verify(&tampered, 1_100), None);
        let vault = issuer
            .issue(&account(), &["vault".to_owned()], 1_000, 600)
            .expect("token");
        assert_eq!(issuer.verify(&vault, 1_100), None);
        // A review asking about the token's own audience accepts it.
        let asked = ["other".to_owned(), "vault".to_owned()];
        assert_eq!(
            issuer.verify_for(&vault, 1_100, &asked),
            Some((account(), vec!["vault".to_owned()]))
        );
        assert_eq!(issuer.verify("not.a.token", 1_100), None);
    }

    #[test]
    fn the_key_file_is_private_and_kept_when_it_exists() {
        let dir = tempfile::tempdir().expect("dir");
        let first = Issuer::load_or_create(dir.path()).expect("issuer");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("service-account.key"))
                .expect("key file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A second create keeps the first key (as when two start at once).
        create_private(&dir.path().join("service-account.key"), "other").expect("kept");
        let again = Issuer::load_or_create(dir.path()).expect("reloaded");
        assert_eq!(first.kid, again.kid);
        let leftovers = std::fs::read_dir(dir.path()).expect("dir").count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn lifetimes_are_bounded_and_default_to_an_hour() {
        assert_eq!(
            requested(&json!({"spec": {}}), "bot").map(|r| r.0).ok(),
            Some(3600)
        );
        let e = requested(&json!({"spec": {"expirationSeconds": 10}}), "bot").expect_err("short");
        assert_eq!(e.code, 422);
        assert!(
            e.message
                .contains("may not specify a duration less than 10 minutes"),
            "{}",
            e.message
        );
    }
}
