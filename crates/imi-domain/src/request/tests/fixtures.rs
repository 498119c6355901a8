//! The question sets shipped in `fixtures/reference/question_sets.json`: stable ids, the
//! areas and sets the workflow needs, and their translations.

use serde_json::Value;
use std::collections::BTreeSet;

const QUESTION_SETS: &str = include_str!("../../../../../fixtures/reference/question_sets.json");

#[test]
fn question_sets_have_stable_ids_and_five_languages() {
    let sets: Vec<Value> = serde_json::from_str(QUESTION_SETS).unwrap();
    let ids: BTreeSet<&str> = sets.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, BTreeSet::from(["PQ-GEN", "SD-ART18", "SD-GEN"]));
    let mut question_ids = BTreeSet::new();
    for set in &sets {
        let id = set["id"].as_str().unwrap();
        let area = set["area"].as_str().unwrap();
        assert!(
            id.starts_with(&format!("{area}-")),
            "{id} belongs to {area}"
        );
        let questions = set["questions"].as_array().unwrap();
        assert!((6..=12).contains(&questions.len()), "{id}");
        for (i, q) in questions.iter().enumerate() {
            let qid = q["id"].as_str().unwrap();
            assert_eq!(
                qid,
                format!("{id}-{:02}", i + 1),
                "ids are numbered in order"
            );
            assert!(question_ids.insert(qid.to_string()), "{qid} is unique");
            for lang in ["en", "fr", "de", "es", "it"] {
                let text = q["texts"][lang].as_str().unwrap_or_default();
                assert!(!text.trim().is_empty(), "{qid} in {lang}");
            }
        }
        for lang in ["en", "fr", "de", "es", "it"] {
            assert!(set["names"][lang].as_str().is_some(), "{id} name in {lang}");
        }
    }
}
