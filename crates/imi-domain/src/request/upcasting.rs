//! Reading the request events of older versions as the current ones. The log is never
//! rewritten: every reader (the aggregate's repository, the feed of the projections) applies
//! these on the way in.

use cqrs_es::persist::{EventUpcaster, SemanticVersionEventUpcaster};
use serde_json::Value;

/// The upcasters of the InformationRequest aggregate's events.
pub fn upcasters() -> Vec<Box<dyn EventUpcaster>> {
    vec![Box::new(SemanticVersionEventUpcaster::new(
        "ReplyRated",
        "2",
        Box::new(reply_rated_v1_to_v2),
    ))]
}

/// `ReplyRated` v1 held one `rating`, the answer to a single question on the reply; v2 asks
/// about timeliness and effort apart. The one answer stood for both.
fn reply_rated_v1_to_v2(mut payload: Value) -> Value {
    if let Some(body) = payload.get_mut("ReplyRated").and_then(Value::as_object_mut) {
        if let Some(rating) = body.remove("rating") {
            body.insert("timeliness".into(), rating.clone());
            body.insert("effort".into(), rating);
        }
    }
    payload
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::RequestEvent;
    use cqrs_es::persist::SerializedEvent;
    use serde::Deserialize;
    use serde_json::json;

    #[test]
    fn a_version_1_rating_reads_as_both_answers() {
        let v1 = SerializedEvent {
            aggregate_id: "r-1".into(),
            sequence: 9,
            aggregate_type: "InformationRequest".into(),
            event_type: "ReplyRated".into(),
            event_version: "1".into(),
            payload: json!({"ReplyRated": {"rating": 2, "at": "2026-01-05T10:00:00Z"}}),
            metadata: json!({}),
        };
        let upcaster = upcasters().remove(0);
        assert!(upcaster.can_upcast("ReplyRated", "1"));
        assert!(!upcaster.can_upcast("ReplyRated", "2"));
        assert!(!upcaster.can_upcast("RequestClosed", "1"));
        let v2 = upcaster.upcast(v1);
        let event = RequestEvent::deserialize(&v2.payload).unwrap();
        assert!(matches!(
            event,
            RequestEvent::ReplyRated {
                timeliness: 2,
                effort: 2,
                ..
            }
        ));
    }
}
