//! A list response whose items are already JSON, so lists served from the
//! watch cache are assembled without re-encoding any object.

use bosun_types::resources::ResourceInfo;
use bytes::Bytes;
use serde_json::{Value, json};

/// `<Kind>List` with pre-encoded items (no apiVersion/kind, as upstream's).
#[derive(Debug, Clone)]
pub struct ObjectList {
    /// e.g. `PodList`.
    pub kind: String,
    /// e.g. `v1`.
    pub api_version: String,
    /// `metadata.resourceVersion`.
    pub revision: i64,
    /// `metadata.continue`.
    pub continue_token: Option<String>,
    /// The items' JSON.
    pub items: Vec<Bytes>,
}

impl ObjectList {
    /// A list of `resource`'s objects.
    pub fn new(
        resource: &ResourceInfo,
        items: Vec<Bytes>,
        revision: i64,
        continue_token: Option<String>,
    ) -> Self {
        Self {
            kind: resource.list_kind(),
            api_version: resource.api_version(),
            revision,
            continue_token,
            items,
        }
    }

    /// `metadata` of the list.
    pub fn metadata(&self) -> Value {
        let mut metadata = json!({"resourceVersion": self.revision.to_string()});
        if let Some(token) = &self.continue_token {
            metadata["continue"] = json!(token);
        }
        metadata
    }

    /// The JSON document.
    pub fn to_json(&self) -> Vec<u8> {
        let head =
            json!({"kind": self.kind, "apiVersion": self.api_version, "metadata": self.metadata()});
        let mut out = serde_json::to_vec(&head).unwrap_or_default();
        // Replace the closing brace with the items array.
        out.pop();
        let size: usize = self.items.iter().map(|i| i.len() + 1).sum();
        out.reserve(size + 12);
        out.extend_from_slice(b",\"items\":[");
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(item);
        }
        out.extend_from_slice(b"]}");
        out
    }

    /// The items as values (for Tables), with apiVersion/kind set.
    pub fn values(&self, resource: &ResourceInfo) -> Vec<Value> {
        self.items
            .iter()
            .filter_map(|item| serde_json::from_slice::<Value>(item).ok())
            .map(|mut v| {
                super::set_type_meta(&mut v, resource);
                v
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_json_embeds_items_verbatim() {
        let pods = bosun_types::resources::find_by_plural("", "v1", "pods").expect("pods");
        let list = ObjectList::new(
            pods,
            vec![Bytes::from_static(b"{\"a\":1}"), Bytes::from_static(b"{}")],
            7,
            Some("t".into()),
        );
        let parsed: Value = serde_json::from_slice(&list.to_json()).expect("valid json");
        assert_eq!(parsed["kind"], "PodList");
        assert_eq!(parsed["metadata"]["resourceVersion"], "7");
        assert_eq!(parsed["metadata"]["continue"], "t");
        assert_eq!(parsed["items"], json!([{"a": 1}, {}]));
        let empty = ObjectList::new(pods, vec![], 1, None);
        let parsed: Value = serde_json::from_slice(&empty.to_json()).expect("valid json");
        assert_eq!(parsed["items"], json!([]));
    }
}
