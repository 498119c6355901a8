//! Reference data: loaded from the bundled fixtures into the `reference` tables, idempotently;
//! a changed file changes exactly its rows; loading writes no event.

use crate::support::migrated;
use imi_store::reference::{self, ReferenceData};
use sqlx::PgPool;

/// Every row of every reference table with its row version (xmin): equal snapshots mean
/// nothing was written.
async fn snapshot(pool: &PgPool) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    for table in [
        "languages",
        "member_states",
        "legislative_areas",
        "keywords",
        "professions",
        "service_activities",
        "registers",
        "helpdesks",
        "question_sets",
        "questions",
    ] {
        let of_table: Vec<(String, String)> = sqlx::query_as(&format!(
            "SELECT t.xmin::text, to_jsonb(t)::text FROM reference.{table} AS t ORDER BY 2"
        ))
        .fetch_all(pool)
        .await
        .unwrap();
        rows.extend(of_table.into_iter().map(|(v, r)| (table.to_string(), v, r)));
    }
    rows
}

#[tokio::test]
async fn loading_twice_changes_nothing_and_writes_no_event() {
    let pool = migrated().await;
    let data = ReferenceData::bundled().unwrap();
    let first = reference::load(&pool, &data).await.unwrap();
    assert!(!first.unchanged());
    for t in &first.tables {
        assert_eq!(t.inserted, t.rows, "{}", t.table);
    }
    let counts = reference::table_counts(&pool).await.unwrap();
    assert_eq!(counts["languages"], 24);
    assert_eq!(counts["member_states"], 30);
    assert!(counts["legislative_areas"] >= 3);
    assert!((20..=60).contains(&counts["keywords"]));
    assert!(counts["professions"] >= 20);
    assert!(counts["service_activities"] >= 15);
    assert!(counts["registers"] >= 5);
    assert_eq!(counts["helpdesks"], 31);
    for (table, n) in data.row_counts() {
        assert_eq!(counts[table], n as i64, "{table}");
    }
    let before = snapshot(&pool).await;

    let second = reference::load(&pool, &data).await.unwrap();
    assert!(second.unchanged(), "{second}");
    for t in &second.tables {
        assert_eq!(t.unchanged(), t.rows, "{}", t.table);
    }
    assert_eq!(snapshot(&pool).await, before, "a reload rewrote rows");
    assert_eq!(reference::table_counts(&pool).await.unwrap(), counts);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events, 0);
}

#[tokio::test]
async fn a_changed_data_set_updates_its_rows_only_and_a_new_area_needs_no_code() {
    let pool = migrated().await;
    let mut data = ReferenceData::bundled().unwrap();
    reference::load(&pool, &data).await.unwrap();
    let before = snapshot(&pool).await;

    // A new legislative area with its professions, and one renamed language.
    let dir = std::env::temp_dir().join(format!("imi-reference-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reference");
    for file in reference::FILES {
        std::fs::copy(fixtures.join(file), dir.join(file)).unwrap();
    }
    let mut areas: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("legislative_areas.json")).unwrap())
            .unwrap();
    areas.as_array_mut().unwrap().push(serde_json::json!({
        "code": "rt", "names": {"en": "Road transport", "fr": "Transport routier"},
        "workflows": ["requests"], "act": "Regulation (EC) No 1071/2009"
    }));
    std::fs::write(dir.join("legislative_areas.json"), areas.to_string()).unwrap();
    let mut professions: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("professions.json")).unwrap())
            .unwrap();
    professions["RT"] = serde_json::json!([
        {"code": "transport-manager", "names": {"en": "Transport manager"}}
    ]);
    std::fs::write(dir.join("professions.json"), professions.to_string()).unwrap();
    let changed = ReferenceData::from_dir(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(changed.legislative_areas.iter().any(|a| a.code == "RT"));

    let report = reference::load(&pool, &changed).await.unwrap();
    let by_table = |name: &str| {
        report
            .tables
            .iter()
            .find(|t| t.table == name)
            .unwrap()
            .clone()
    };
    assert_eq!(by_table("legislative_areas").inserted, 1);
    assert_eq!(by_table("professions").inserted, 1);
    assert_eq!(by_table("languages").updated, 0);

    data.languages[0]
        .names
        .insert("en".into(), "Bulgarian language".into());
    let renamed = reference::load(&pool, &data).await.unwrap();
    let languages = renamed
        .tables
        .iter()
        .find(|t| t.table == "languages")
        .unwrap();
    assert_eq!((languages.inserted, languages.updated), (0, 1));
    let after = snapshot(&pool).await;
    let rewritten: Vec<_> = after
        .iter()
        .filter(|row| !before.contains(row))
        .map(|(table, _, row)| format!("{table}: {row}"))
        .collect();
    assert_eq!(rewritten.len(), 3, "{rewritten:#?}");

    // The store's lookup knows the new area at once.
    use imi_domain::authority::AuthorityDirectoryLookup;
    let lookup = imi_store::authority_lookup::StoreLookup::new(pool.clone());
    let rt = imi_domain::authority::LegislativeArea::parse("RT").unwrap();
    assert!(lookup.is_known_area(&rt).await.unwrap());
    assert!(lookup
        .is_known_profession(&rt, "transport-manager")
        .await
        .unwrap());
}

#[tokio::test]
async fn a_bad_data_set_is_refused_before_anything_is_written() {
    let dir = std::env::temp_dir().join(format!("imi-reference-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/reference");
    for file in reference::FILES {
        std::fs::copy(fixtures.join(file), dir.join(file)).unwrap();
    }
    std::fs::write(
        dir.join("service_activities.json"),
        r#"{"ZZ": [{"code": "x", "names": {"en": "X"}}]}"#,
    )
    .unwrap();
    let error = ReferenceData::from_dir(&dir).unwrap_err().to_string();
    assert!(
        error.contains("ZZ is not in legislative_areas.json"),
        "{error}"
    );
    std::fs::remove_file(dir.join("helpdesks.json")).unwrap();
    assert!(ReferenceData::from_dir(&dir).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
