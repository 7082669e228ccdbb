//! Upstream's validation per kind (placeholder until the full module lands).

/// One problem, as upstream's field.Error.
#[derive(Debug, Clone)]
pub struct FieldError {
    /// The kind of problem.
    pub kind: ErrorKind,
    /// The field path.
    pub field: String,
    /// The bad value.
    pub value: Option<serde_json::Value>,
    /// The detail.
    pub detail: String,
}

/// Kinds of field errors.
#[derive(Debug, Clone, Copy)]
pub enum ErrorKind {
    /// Required value.
    Required,
    /// Invalid value.
    Invalid,
}

impl ErrorKind {
    /// Upstream's cause type.
    pub fn cause_type(&self) -> &'static str {
        match self {
            Self::Required => "FieldValueRequired",
            Self::Invalid => "FieldValueInvalid",
        }
    }
}

impl FieldError {
    /// The message body.
    pub fn body(&self) -> String {
        self.detail.clone()
    }
}

/// Validates an object.
pub fn validate(
    _group: &str,
    _version: &str,
    _kind: &str,
    _object: &serde_json::Value,
    _old: Option<&serde_json::Value>,
) -> Vec<FieldError> {
    Vec::new()
}
