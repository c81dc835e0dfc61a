#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| aethenox_webhooks::fuzzing::url_policy(data));
