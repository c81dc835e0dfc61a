// Kept by hand in step with migrations/.

diesel::table! {
    users (id) {
        id -> Integer,
        email -> Text,
        role -> Text,
        password_hash -> Text,
        disabled -> Bool,
        created_at -> BigInt,
        instance -> Bool,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        user_id -> Integer,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        workspace_id -> Nullable<Text>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Integer,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        role -> Text,
        workspace_id -> Nullable<Text>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Integer,
        at -> BigInt,
        actor -> Text,
        action -> Text,
        target -> Nullable<Text>,
        detail -> Nullable<Text>,
        client_ip -> Nullable<Text>,
        workspace_id -> Nullable<Text>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        url -> Text,
        description -> Text,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        failing_since -> Nullable<BigInt>,
        disabled_at -> Nullable<BigInt>,
        workspace_id -> Text,
        filter -> Nullable<Text>,
        headers -> Nullable<Text>,
        rate_limit -> Nullable<Integer>,
        ordered -> Bool,
        rate_window -> BigInt,
        rate_used -> Integer,
    }
}

diesel::table! {
    webhook_events (webhook_id, event_type) {
        webhook_id -> Text,
        event_type -> Text,
    }
}

diesel::table! {
    webhook_secrets (id) {
        id -> Integer,
        webhook_id -> Text,
        secret -> Text,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    events (workspace_id, id) {
        id -> Text,
        event_type -> Text,
        body -> Binary,
        delivery_count -> Integer,
        created_at -> BigInt,
        workspace_id -> Text,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Text,
        event_id -> Text,
        webhook_id -> Text,
        event_type -> Text,
        status -> Text,
        attempt_count -> Integer,
        next_attempt_at -> Nullable<BigInt>,
        lease_until -> Nullable<BigInt>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        is_test -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
        manual_attempts -> Integer,
        last_status_class -> Nullable<Integer>,
        last_duration_ms -> Nullable<Integer>,
        workspace_id -> Text,
    }
}

diesel::table! {
    attempts (id) {
        id -> Integer,
        delivery_id -> Text,
        attempted_at -> BigInt,
        duration_ms -> Integer,
        status_code -> Nullable<Integer>,
        error_class -> Nullable<Text>,
        error -> Nullable<Text>,
        request_headers -> Text,
        response_headers -> Nullable<Text>,
        response_body -> Nullable<Binary>,
        response_truncated -> Bool,
        trigger -> Text,
        triggered_by -> Nullable<Text>,
    }
}

diesel::table! {
    bulk_retries (id) {
        id -> Text,
        webhook_id -> Text,
        total -> Integer,
        created_by -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    bulk_retry_items (bulk_id, delivery_id) {
        bulk_id -> Text,
        delivery_id -> Text,
    }
}

diesel::table! {
    inboxes (id) {
        id -> Text,
        token -> Text,
        name -> Text,
        created_at -> BigInt,
        workspace_id -> Text,
    }
}

diesel::table! {
    inbox_requests (id) {
        id -> Integer,
        inbox_id -> Text,
        received_at -> BigInt,
        headers -> Text,
        body -> Binary,
        body_truncated -> Bool,
        signature_valid -> Bool,
        webhook_id -> Nullable<Text>,
    }
}

diesel::table! {
    workspaces (id) {
        id -> Text,
        uid -> Nullable<Text>,
        name -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    memberships (user_id, workspace_id) {
        user_id -> Integer,
        workspace_id -> Text,
        role -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    portal_sessions (link_hash) {
        link_hash -> Text,
        session_hash -> Nullable<Text>,
        workspace_id -> Text,
        role -> Text,
        user_label -> Text,
        accent -> Nullable<Text>,
        created_at -> BigInt,
        open_until -> BigInt,
        expires_at -> BigInt,
        opened_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(portal_sessions -> workspaces (workspace_id));
diesel::joinable!(webhooks -> workspaces (workspace_id));
diesel::joinable!(bulk_retries -> webhooks (webhook_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(memberships -> workspaces (workspace_id));
diesel::joinable!(deliveries -> webhooks (webhook_id));
diesel::joinable!(attempts -> deliveries (delivery_id));
diesel::joinable!(bulk_retry_items -> deliveries (delivery_id));
diesel::joinable!(bulk_retry_items -> bulk_retries (bulk_id));
diesel::joinable!(inbox_requests -> inboxes (inbox_id));
diesel::joinable!(webhook_events -> webhooks (webhook_id));
diesel::joinable!(webhook_secrets -> webhooks (webhook_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    api_keys,
    webhooks,
    webhook_events,
    webhook_secrets,
    events,
    deliveries,
    attempts,
    bulk_retries,
    bulk_retry_items,
    inboxes,
    inbox_requests,
    audit_log,
    workspaces,
    memberships,
    portal_sessions,
);
