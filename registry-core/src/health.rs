//! How a plugin is doing: what [`Plugin::health`](crate::Plugin::health) reports.

use std::fmt;

use serde::ser::{Serialize, SerializeStruct, Serializer};

/// How a plugin is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HealthStatus {
    /// Working.
    Healthy,
    /// Working, but something needs attention.
    Degraded(String),
    /// Not working.
    Unhealthy(String),
}

impl HealthStatus {
    /// 0 healthy, 1 degraded, 2 unhealthy: the worse status is the greater.
    pub fn rank(&self) -> u8 {
        match self {
            HealthStatus::Healthy => 0,
            HealthStatus::Degraded(_) => 1,
            HealthStatus::Unhealthy(_) => 2,
        }
    }

    /// `healthy`, `degraded` or `unhealthy`.
    pub fn label(&self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded(_) => "degraded",
            HealthStatus::Unhealthy(_) => "unhealthy",
        }
    }

    fn reason(&self) -> Option<&str> {
        match self {
            HealthStatus::Healthy => None,
            HealthStatus::Degraded(why) | HealthStatus::Unhealthy(why) => Some(why),
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
            None => f.write_str(self.label()),
            Some(why) => write!(f, "{}: {why}", self.label()),
        }
    }
}

/// `{"status": "degraded", "reason": "..."}`; `reason` is absent when healthy.
impl Serialize for HealthStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let reason = self.reason();
        let mut out =
            serializer.serialize_struct("HealthStatus", 1 + usize::from(reason.is_some()))?;
        out.serialize_field("status", self.label())?;
        if let Some(reason) = reason {
            out.serialize_field("reason", reason)?;
        }
        out.end()
    }
}
