//! The filter language, table by table.

use super::*;
use serde_json::json;

fn data() -> Value {
    json!({
        "amount": 5,
        "price": 5.5,
        "code": "5",
        "name": "Ana Lima",
        "vip": true,
        "note": null,
        "tags": ["new", "priority"],
        "contact": {"email": "ana@acme.test", "address": {"city": "Porto"}},
        "items": [{"sku": "A1", "qty": 2}, {"sku": "B2", "qty": 7}],
        "matrix": [[1, 2], [3]],
        "7": "seven",
    })
}

fn check(filter: Value) -> bool {
    Filter::parse(&filter)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .matches(&data())
}

#[test]
fn every_operator_on_every_kind_of_value() {
    let table: Vec<(Value, bool)> = vec![
        // Equality, at a path, by value.
        (json!({"amount": 5}), true),
        (json!({"amount": 5.0}), true),
        (json!({"amount": 6}), false),
        (json!({"name": "Ana Lima"}), true),
        (json!({"vip": true}), true),
        (json!({"vip": "true"}), false),
        (json!({"note": null}), true),
        (json!({"contact.email": "ana@acme.test"}), true),
        (json!({"contact.address.city": "Porto"}), true),
        (
            json!({"contact": {"email": "ana@acme.test", "address": {"city": "Porto"}}}),
            true,
        ),
        (json!({"contact": {"email": "ana@acme.test"}}), false),
        // "5" is not 5, either way.
        (json!({"code": 5}), false),
        (json!({"amount": "5"}), false),
        (json!({"code": "5"}), true),
        // $eq / $ne
        (json!({"amount": {"$eq": 5}}), true),
        (json!({"amount": {"$ne": 5}}), false),
        (json!({"amount": {"$ne": "5"}}), true),
        (json!({"missing": {"$ne": 1}}), true),
        // Comparisons: numbers with numbers, strings with strings, never across.
        (json!({"amount": {"$gt": 4}}), true),
        (json!({"amount": {"$gt": 5}}), false),
        (json!({"amount": {"$gte": 5}}), true),
        (json!({"amount": {"$lt": 5.5}}), true),
        (json!({"amount": {"$lte": 4.9}}), false),
        (json!({"price": {"$gt": 5, "$lt": 6}}), true),
        (json!({"price": {"$gt": 5, "$lt": 5.5}}), false),
        (json!({"code": {"$gt": 4}}), false),
        (json!({"amount": {"$gt": "4"}}), false),
        (json!({"name": {"$gte": "Ana"}}), true),
        (json!({"name": {"$lt": "Ana"}}), false),
        (json!({"missing": {"$lt": 1}}), false),
        // $in / $nin
        (json!({"amount": {"$in": [1, 5]}}), true),
        (json!({"amount": {"$in": ["5"]}}), false),
        (json!({"amount": {"$in": []}}), false),
        (json!({"amount": {"$nin": [1, 2]}}), true),
        (json!({"amount": {"$nin": [5]}}), false),
        (json!({"missing": {"$nin": [5]}}), true),
        // $exists (null exists)
        (json!({"note": {"$exists": true}}), true),
        (json!({"missing": {"$exists": true}}), false),
        (json!({"missing": {"$exists": false}}), true),
        (json!({"contact.address.zip": {"$exists": false}}), true),
        // $regex on strings only
        (json!({"contact.email": {"$regex": "@acme\\.test$"}}), true),
        (json!({"name": {"$regex": "^ana"}}), false),
        (json!({"name": {"$regex": "(?i)^ana"}}), true),
        (json!({"amount": {"$regex": "5"}}), false),
        // Arrays: holding the value, looked into on the way, picked by number.
        (json!({"tags": "priority"}), true),
        (json!({"tags": "old"}), false),
        (json!({"tags": ["new", "priority"]}), true),
        (json!({"tags": {"$in": ["x", "new"]}}), true),
        (json!({"tags": {"$ne": "new"}}), false),
        (json!({"tags.1": "priority"}), true),
        (json!({"tags.5": "priority"}), false),
        (json!({"items.sku": "B2"}), true),
        (json!({"items.qty": {"$gt": 5}}), true),
        (json!({"items.qty": {"$gt": 7}}), false),
        (json!({"items.0.sku": "B2"}), false),
        (json!({"items.1.sku": "B2"}), true),
        (json!({"matrix": [3]}), true),
        (json!({"7": "seven"}), true),
        // Paths through values that are not objects.
        (json!({"amount.value": 5}), false),
        (json!({"name.first": {"$exists": false}}), true),
        // $and / $or, and several keys together.
        (json!({"$and": [{"amount": 5}, {"vip": true}]}), true),
        (json!({"$and": [{"amount": 5}, {"vip": false}]}), false),
        (json!({"$or": [{"amount": 6}, {"vip": true}]}), true),
        (json!({"$or": [{"amount": 6}, {"vip": false}]}), false),
        (json!({"amount": 5, "vip": false}), false),
        (
            json!({"amount": 5, "$or": [{"tags": "x"}, {"tags": "new"}]}),
            true,
        ),
        (json!({}), true),
    ];
    for (filter, want) in table {
        assert_eq!(check(filter.clone()), want, "{filter}");
    }
}

#[test]
fn deep_nesting_within_the_limit_matches_and_beyond_it_is_refused() {
    let deep = json!({"$and": [{"$or": [{"$and": [{"a.b.c": {"$in": [1]}}]}]}]});
    let f = Filter::parse(&deep).unwrap();
    assert!(f.matches(&json!({"a": {"b": {"c": 1}}})));
    assert!(!f.matches(&json!({"a": {"b": {"c": 2}}})));
    let mut eight = json!({"a": 1});
    for _ in 0..7 {
        eight = json!({"$and": [eight]});
    }
    assert!(Filter::parse(&eight).unwrap().matches(&json!({"a": 1})));
    let too_deep = json!({"$or": [eight]});
    let e = Filter::parse(&too_deep).unwrap_err();
    assert!(e.to_string().contains("8 levels"), "{e}");
    let big = json!({"name": {"$in": vec!["x".repeat(100); 50]}});
    assert!(
        Filter::parse(&big)
            .unwrap_err()
            .to_string()
            .contains("4096 bytes")
    );
}

#[test]
fn bad_filters_name_their_path_and_operator() {
    for (filter, path, op, words) in [
        (json!([1]), "", None, "JSON object"),
        (
            json!({"amount": {"$gt": true}}),
            "amount.$gt",
            Some("$gt"),
            "number or a string",
        ),
        (
            json!({"$and": [{"a": 1}, {"b": {"$in": 3}}]}),
            "$and[1].b.$in",
            Some("$in"),
            "list",
        ),
        (json!({"$or": {}}), "$or", Some("$or"), "list of filters"),
        (json!({"$and": []}), "$and", Some("$and"), "at least one"),
        (json!({"$and": [3]}), "$and[0]", None, "JSON object"),
        (
            json!({"a": {"$exists": 1}}),
            "a.$exists",
            Some("$exists"),
            "true or false",
        ),
        (
            json!({"a": {"$regex": "("}}),
            "a.$regex",
            Some("$regex"),
            "regular expression",
        ),
        (
            json!({"a": {"$regex": 5}}),
            "a.$regex",
            Some("$regex"),
            "as a string",
        ),
        (
            json!({"a": {"$regex": "a".repeat(257)}}),
            "a.$regex",
            Some("$regex"),
            "256",
        ),
        (
            json!({"a": {"$regex": "\\w{1000}{1000}"}}),
            "a.$regex",
            Some("$regex"),
            "too large",
        ),
        (
            json!({"a": {"$like": "x"}}),
            "a.$like",
            Some("$like"),
            "not an operator",
        ),
        (
            json!({"$gt": 5}),
            "$gt",
            Some("$gt"),
            "not an operator here",
        ),
        (
            json!({"a": {"$gt": 1, "b": 2}}),
            "a",
            None,
            "mixes operators",
        ),
        (json!({"a..b": 1}), "a..b", None, "separated by dots"),
        (json!({"": 1}), "", None, "separated by dots"),
    ] {
        let e = Filter::parse(&filter).unwrap_err();
        assert_eq!(e.path, path, "{filter}: {e}");
        assert_eq!(e.operator.as_deref(), op, "{filter}: {e}");
        assert!(e.to_string().contains(words), "{filter}: {e}");
    }
}

#[test]
fn a_filter_keeps_its_source() {
    let source = json!({"amount": {"$gt": 5}});
    assert_eq!(Filter::parse(&source).unwrap().source(), &source);
}
