//! The event catalogue: every type a webhook can subscribe to, with the sample payload
//! that Send Test delivers.

use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventType {
    pub name: &'static str,
    pub description: &'static str,
}

pub const CATALOGUE: [EventType; 8] = [
    EventType {
        name: "message.received",
        description: "Triggered when an incoming message is received from a contact.",
    },
    EventType {
        name: "message.sent",
        description: "Triggered when a message is sent to a contact.",
    },
    EventType {
        name: "message.delivered",
        description: "Triggered when a sent message is confirmed as delivered.",
    },
    EventType {
        name: "message.read",
        description: "Triggered when a sent message is marked as read by the contact.",
    },
    EventType {
        name: "call.completed",
        description: "Triggered when a voice call ends successfully.",
    },
    EventType {
        name: "call.missed",
        description: "Triggered when an incoming call is missed or unanswered.",
    },
    EventType {
        name: "contact.created",
        description: "Triggered when a new contact is added to the system.",
    },
    EventType {
        name: "contact.updated",
        description: "Triggered when contact information is modified.",
    },
];

/// What the instance itself tells the platform, to operational webhooks only: never published
/// through the API, never in a workspace's catalogue.
pub const OPERATIONAL: [EventType; 2] = [
    EventType {
        name: "webhook.disabled",
        description: "Triggered when a webhook of any workspace is disabled automatically.",
    },
    EventType {
        name: "delivery.exhausted",
        description: "Triggered when a delivery of any workspace fails for good.",
    },
];

/// Either catalogue's entry for `name` (for showing a type already stored).
pub fn find(name: &str) -> Option<&'static EventType> {
    CATALOGUE
        .iter()
        .chain(OPERATIONAL.iter())
        .find(|e| e.name == name)
}

/// Whether `name` is in the platform's catalogue: what may be published and subscribed to in
/// a workspace.
pub fn is_known(name: &str) -> bool {
    is_in(&CATALOGUE, name)
}

pub fn is_in(catalogue: &[EventType], name: &str) -> bool {
    catalogue.iter().any(|e| e.name == name)
}

/// Sorts event type names into catalogue order (the order users see them in).
pub fn catalogue_order(names: &mut [String]) {
    names.sort_by_key(|n| {
        CATALOGUE
            .iter()
            .chain(OPERATIONAL.iter())
            .position(|e| e.name == n)
            .unwrap_or(usize::MAX)
    });
}

/// Event ids given by a publisher: 1 to 100 characters of letters, digits and `._:-`.
pub fn check_event_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok {
        Ok(())
    } else {
        Err("id must be 1 to 100 letters, digits, '.', '_', ':' or '-'".into())
    }
}

/// The body every attempt of every delivery of an event sends, fixed when it is accepted:
/// `{"id","type","created_at","data"}`.
pub fn payload(id: &str, event_type: &str, created_at_ms: i64, data: &Value) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Payload<'a> {
        id: &'a str,
        #[serde(rename = "type")]
        event_type: &'a str,
        created_at: String,
        data: &'a Value,
    }
    let p = Payload {
        id,
        event_type,
        created_at: super::time::rfc3339(created_at_ms),
        data,
    };
    // Serialising a Value with string keys cannot fail.
    serde_json::to_vec(&p).unwrap_or_default()
}

fn contact() -> Value {
    json!({
        "id": "con_01jd8k2m4q7r9s3t5v6w8x0y1z",
        "name": "Amara Okafor",
        "phone": "+14155550132",
        "email": "amara.okafor@example.com"
    })
}

/// A realistic `data` object for each type, used by Send Test.
pub fn sample_data(name: &str) -> Option<Value> {
    let message = |direction: &str, status: &str| {
        json!({
            "message_id": "msg_01jd8k3a6b8c0d2e4f6g8h0j2k",
            "conversation_id": "cnv_01jd8k1x2y3z4a5b6c7d8e9f0g",
            "channel": "whatsapp",
            "direction": direction,
            "status": status,
            "contact": contact(),
            "body": "Hi! Is my order #4821 on its way?",
            "sent_at": "2026-11-27T19:58:12Z"
        })
    };
    let call = |status: &str, duration: u32| {
        json!({
            "call_id": "call_01jd8k4n5p6q7r8s9t0v1w2x3y",
            "direction": "inbound",
            "status": status,
            "from": "+14155550132",
            "to": "+14155550100",
            "contact": contact(),
            "started_at": "2026-11-27T19:41:03Z",
            "ended_at": "2026-11-27T19:47:21Z",
            "duration_seconds": duration
        })
    };
    Some(match name {
        "message.received" => message("inbound", "received"),
        "message.sent" => message("outbound", "sent"),
        "message.delivered" => message("outbound", "delivered"),
        "message.read" => message("outbound", "read"),
        "call.completed" => call("completed", 378),
        "call.missed" => call("missed", 0),
        "contact.created" => json!({
            "contact": contact(),
            "source": "inbound_message",
            "created_at": "2026-11-27T19:58:12Z"
        }),
        "contact.updated" => json!({
            "contact": contact(),
            "changed_fields": ["email", "name"],
            "previous": {"name": "Amara O.", "email": null},
            "updated_at": "2026-11-27T20:03:45Z"
        }),
        "webhook.disabled" => json!({
            "workspace": "acct_4821",
            "webhook_id": "wh_01jd8k5r6s7t8v9w0x1y2z3a4b",
            "url": "https://crm.example.com/hooks/aethenox",
            "reason": "the endpoint answered 410 Gone"
        }),
        "delivery.exhausted" => json!({
            "workspace": "acct_4821",
            "webhook_id": "wh_01jd8k5r6s7t8v9w0x1y2z3a4b",
            "delivery_id": "dlv_01jd8k6c7d8e9f0g1h2j3k4m5n",
            "event_id": "evt_01jd8k6a1b2c3d4e5f6g7h8j9k",
            "event_type": "message.received",
            "last_status_code": 503,
            "last_error": "HTTP 503"
        }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_an_object_sample() {
        for e in CATALOGUE {
            assert!(
                sample_data(e.name).is_some_and(|v| v.is_object()),
                "{}",
                e.name
            );
            assert!(is_known(e.name));
        }
        for e in OPERATIONAL {
            assert!(sample_data(e.name).is_some_and(|v| v.is_object()));
            assert!(!is_known(e.name), "never published into a workspace");
            assert!(is_in(&OPERATIONAL, e.name) && find(e.name).is_some());
        }
        assert!(!is_known("message.deleted"));
        assert!(sample_data("nope").is_none());
    }

    #[test]
    fn payload_has_the_contract_shape() {
        let body = payload(
            "evt_1",
            "call.missed",
            1_795_809_600_000,
            &json!({"b": 1, "a": [true]}),
        );
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"id":"evt_1","type":"call.missed","created_at":"2026-11-27T20:00:00Z","data":{"b":1,"a":[true]}}"#
        );
        assert!(check_event_id("evt_01J9:order-4821.v2").is_ok());
        for bad in ["", "a b", "<x>", &"x".repeat(101), "é"] {
            assert!(check_event_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn orders_by_catalogue() {
        let mut v = vec![
            "contact.updated".to_string(),
            "message.sent".into(),
            "call.missed".into(),
        ];
        catalogue_order(&mut v);
        assert_eq!(v, ["message.sent", "call.missed", "contact.updated"]);
    }
}
