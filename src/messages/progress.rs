//! `catalog.sync.progress` (core NATS, not stored): how far a run is, at most twice a second.
//!
//! ```json
//! {"run_id": "…", "request_id": "nightly-7", "processed": 4200, "total": 10000, "eta_ms": 5600}
//! ```

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::InvalidMessage;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    pub run_id: Uuid,
    /// The request the run answers, so a waiting publisher follows its own run only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Products handled so far.
    pub processed: u64,
    /// Products the run expects, when known (0 otherwise).
    pub total: u64,
    /// Estimated time to the end, once something was processed.
    pub eta_ms: Option<u64>,
}

impl SyncProgress {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("progress always encodes")
    }

    pub fn decode(body: &[u8]) -> Result<Self, InvalidMessage> {
        serde_json::from_slice(body)
            .map_err(|e| InvalidMessage(format!("not a progress message: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_round_trips() {
        let p = SyncProgress {
            run_id: Uuid::new_v4(),
            request_id: Some("nightly-7".into()),
            processed: 3,
            total: 9,
            eta_ms: Some(40),
        };
        assert_eq!(SyncProgress::decode(&p.encode()).unwrap(), p);
        assert!(SyncProgress::decode(br#"{"processed":1}"#).is_err());
    }
}
