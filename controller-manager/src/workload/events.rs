//! Event reasons and messages, worded as upstream's controllers word them.

/// Whether an event reports normal operation or a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// `Normal`.
    Normal,
    /// `Warning`.
    Warning,
}

impl EventType {
    /// The API spelling (`Normal` / `Warning`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// An event to record on the object a decision was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Normal or Warning.
    pub event_type: EventType,
    /// The machine-readable reason, e.g. `ScalingReplicaSet`.
    pub reason: &'static str,
    /// The human-readable message.
    pub message: String,
}

/// Reason of a ReplicaSet's successful pod creation.
pub const SUCCESSFUL_CREATE: &str = "SuccessfulCreate";
/// Reason of a ReplicaSet's failed pod creation.
pub const FAILED_CREATE: &str = "FailedCreate";
/// Reason of a ReplicaSet's successful pod deletion.
pub const SUCCESSFUL_DELETE: &str = "SuccessfulDelete";
/// Reason of a ReplicaSet's failed pod deletion.
pub const FAILED_DELETE: &str = "FailedDelete";
/// Reason of a Deployment scaling one of its ReplicaSets.
pub const SCALING_REPLICA_SET: &str = "ScalingReplicaSet";
/// Reason of a Deployment whose selector selects everything.
pub const SELECTING_ALL: &str = "SelectingAll";
/// Reason of a Deployment failing to create its new ReplicaSet.
pub const REPLICA_SET_CREATE_ERROR: &str = "ReplicaSetCreateError";
/// Reason of a completed rollback.
pub const ROLLBACK_DONE: &str = "DeploymentRollback";
/// Reason of a rollback whose revision does not exist.
pub const ROLLBACK_REVISION_NOT_FOUND: &str = "DeploymentRollbackRevisionNotFound";
/// Reason of a rollback to the template the deployment already has.
pub const ROLLBACK_TEMPLATE_UNCHANGED: &str = "DeploymentRollbackTemplateUnchanged";

/// `Scaled up replica set <name> from <from> to <to>` (or `down`).
pub fn scaling_replica_set(rs_name: &str, from: i32, to: i32) -> Event {
    let direction = if from < to { "up" } else { "down" };
    Event {
        event_type: EventType::Normal,
        reason: SCALING_REPLICA_SET,
        message: format!("Scaled {direction} replica set {rs_name} from {from} to {to}"),
    }
}

/// `Created pod: <name>`.
pub fn successful_create(pod_name: &str) -> Event {
    Event {
        event_type: EventType::Normal,
        reason: SUCCESSFUL_CREATE,
        message: format!("Created pod: {pod_name}"),
    }
}

/// `Error creating: <error>`.
pub fn failed_create(error: &str) -> Event {
    Event {
        event_type: EventType::Warning,
        reason: FAILED_CREATE,
        message: format!("Error creating: {error}"),
    }
}

/// `Deleted pod: <name>`.
pub fn successful_delete(pod_name: &str) -> Event {
    Event {
        event_type: EventType::Normal,
        reason: SUCCESSFUL_DELETE,
        message: format!("Deleted pod: {pod_name}"),
    }
}

/// `Error deleting: <error>`.
pub fn failed_delete(error: &str) -> Event {
    Event {
        event_type: EventType::Warning,
        reason: FAILED_DELETE,
        message: format!("Error deleting: {error}"),
    }
}

/// The warning for a deployment whose selector is empty.
pub fn selecting_all() -> Event {
    Event {
        event_type: EventType::Warning,
        reason: SELECTING_ALL,
        message: "This deployment is selecting all pods. A non-empty selector is required."
            .to_owned(),
    }
}

/// `Failed to create new replica set "<name>": <error>`, as a warning.
pub fn failed_replica_set_create(rs_name: &str, error: &str) -> Event {
    Event {
        event_type: EventType::Warning,
        reason: REPLICA_SET_CREATE_ERROR,
        message: failed_replica_set_create_message(rs_name, error),
    }
}

/// The message shared by the create-failure event and Progressing condition.
pub fn failed_replica_set_create_message(rs_name: &str, error: &str) -> String {
    format!("Failed to create new replica set {rs_name:?}: {error}")
}

/// `Rolled back deployment "<name>" to revision <n>`.
pub fn rollback_done(deployment_name: &str, revision: i64) -> Event {
    Event {
        event_type: EventType::Normal,
        reason: ROLLBACK_DONE,
        message: format!("Rolled back deployment {deployment_name:?} to revision {revision}"),
    }
}

/// `Unable to find last revision.` / `Unable to find the revision to rollback to.`
pub fn rollback_revision_not_found(last_revision: bool) -> Event {
    Event {
        event_type: EventType::Warning,
        reason: ROLLBACK_REVISION_NOT_FOUND,
        message: if last_revision {
            "Unable to find last revision.".to_owned()
        } else {
            "Unable to find the revision to rollback to.".to_owned()
        },
    }
}

/// `The rollback revision contains the same template as current deployment "<name>"`.
pub fn rollback_template_unchanged(deployment_name: &str) -> Event {
    Event {
        event_type: EventType::Warning,
        reason: ROLLBACK_TEMPLATE_UNCHANGED,
        message: format!(
            "The rollback revision contains the same template as current deployment {deployment_name:?}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_messages() {
        assert_eq!(
            scaling_replica_set("web-abc", 1, 3).message,
            "Scaled up replica set web-abc from 1 to 3"
        );
        assert_eq!(
            scaling_replica_set("web-abc", 3, 0).message,
            "Scaled down replica set web-abc from 3 to 0"
        );
        assert_eq!(scaling_replica_set("x", 3, 0).reason, "ScalingReplicaSet");
    }

    #[test]
    fn pod_messages() {
        assert_eq!(successful_create("p-1").message, "Created pod: p-1");
        assert_eq!(successful_delete("p-1").message, "Deleted pod: p-1");
        let failed = failed_create("quota exceeded");
        assert_eq!(failed.reason, "FailedCreate");
        assert_eq!(failed.event_type, EventType::Warning);
        assert_eq!(failed.message, "Error creating: quota exceeded");
    }

    #[test]
    fn rs_create_failure_quotes_name() {
        assert_eq!(
            failed_replica_set_create("web-1", "boom").message,
            "Failed to create new replica set \"web-1\": boom"
        );
    }
}
