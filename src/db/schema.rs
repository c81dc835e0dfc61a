// Kept by hand in step with migrations/.

diesel::table! {
    users (id) {
        id -> Integer,
        email -> Text,
        role -> Text,
        password_hash -> Text,
        disabled -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        user_id -> Integer,
        created_at -> BigInt,
        last_seen_at -> BigInt,
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

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(webhook_events -> webhooks (webhook_id));
diesel::joinable!(webhook_secrets -> webhooks (webhook_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    api_keys,
    webhooks,
    webhook_events,
    webhook_secrets
);
