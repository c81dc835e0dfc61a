#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| aethenox_webhooks::fuzzing::query_strings(data));
