//! The fuzz targets' bodies (src/fuzzing.rs), run with the ordinary tests over a fixed,
//! seeded stream of mutations of realistic inputs, so a panic a fuzzer would find in these
//! shapes fails CI too. The real fuzzing is `cargo fuzz run …` (see the README).

use aethenox_webhooks::fuzzing;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEEDS: [&str; 16] = [
    "https://example.com/hooks",
    "https://[::ffff:127.0.0.1]:8443/x?y#z",
    "https://0x7f.1/",
    "https://user:pw@example.com/",
    "http://10.0.0.1/",
    r#"{"url":"https://example.com/","events":["message.sent"],"description":"d","enabled":true}"#,
    r#"{"type":"call.missed","data":{"a":[1,2,{"b":null}]},"id":"evt_1"}"#,
    r#"{"grace_period_seconds":86400}"#,
    r#"{"event_type":"contact.updated"}"#,
    "status=failed&event_type=call.missed&class=5xx&from=2026-11-27T20:00&to=2026-11-28&q=dlv_01&before=dlv_x",
    "events=message.sent&events=call.missed&url=https%3A%2F%2Fx.io&csrf_token=abc",
    "action=sign_in&actor=admin%40example.com&from=2026-01-01",
    "5s,5m,30m",
    "2026-02-29T23:59:59Z",
    "\u{0}\u{ffff}<script>",
    "",
];

fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(6) {
        match rng.below(5) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            1 => {
                let i = rng.below(v.len() + 1);
                const BYTES: &[u8] = b"{}[]\":,.%@/\\0x:#?&=-";
                v.insert(i, BYTES[rng.below(BYTES.len())]);
            }
            2 if !v.is_empty() => {
                let i = rng.below(v.len());
                v.remove(i);
            }
            3 if !v.is_empty() => {
                let (a, b) = (rng.below(v.len()), rng.below(v.len()));
                let (a, b) = (a.min(b), a.max(b));
                let chunk = v[a..b].to_vec();
                v.splice(a..a, chunk);
            }
            _ => v.extend_from_slice(SEEDS[rng.below(SEEDS.len())].as_bytes()),
        }
    }
    v
}

#[test]
fn the_fuzz_targets_survive_thousands_of_mutated_inputs() {
    let mut rng = XorShift(0x5eed_cafe_f00d_d00d);
    for round in 0..6000 {
        let seed = SEEDS[round % SEEDS.len()].as_bytes();
        let input = mutate(&mut rng, seed);
        fuzzing::url_policy(&input);
        fuzzing::json_requests(&input);
        fuzzing::query_strings(&input);
    }
}
