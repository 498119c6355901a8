//! The upcasters of every aggregate type, in one place, so that every reader of the log reads
//! events of older versions the same way: the aggregates' repositories (through cqrs-es) and
//! the feed the projections read. The rows themselves are never rewritten (the hash chain
//! covers them); the audit history and the export show them as recorded.

use crate::feed::FeedEvent;
use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use std::sync::LazyLock;

/// The upcasters of `aggregate_type`'s events (none for a type without any).
pub fn upcasters(aggregate_type: &str) -> Upcasters {
    match aggregate_type {
        "InformationRequest" => imi_domain::request::upcasting::upcasters(),
        _ => vec![],
    }
}

type Upcasters = Vec<Box<dyn EventUpcaster>>;

static ALL: LazyLock<Vec<(&'static str, Upcasters)>> = LazyLock::new(|| {
    ["Authority", "InformationRequest", "Alert"]
        .into_iter()
        .map(|t| (t, upcasters(t)))
        .collect()
});

/// Brings a feed event to its current version, in place; its payload is parsed only when an
/// upcaster takes it. An event without a payload (of a type its reader does not read) stays
/// as it is.
pub fn upcast(event: &mut FeedEvent) {
    let Some((_, upcasters)) = ALL.iter().find(|(t, _)| *t == event.aggregate_type) else {
        return;
    };
    if event.payload.get() == "null" {
        return;
    }
    for upcaster in upcasters {
        if upcaster.can_upcast(&event.event_type, &event.event_version) {
            let upcasted = upcaster.upcast(SerializedEvent {
                aggregate_id: String::new(),
                sequence: 0,
                aggregate_type: String::new(),
                event_type: event.event_type.clone(),
                event_version: event.event_version.clone(),
                payload: event.payload_value(),
                metadata: serde_json::Value::Null,
            });
            event.event_version = upcasted.event_version;
            event.payload = crate::feed::raw_json(&upcasted.payload);
        }
    }
}
