//! The authority directory: its content after a realistic history, visibility, search in
//! several languages and by every filter; built incrementally or rebuilt blue/green, the
//! tables are equal; it holds no personal data; it refuses a feed with holes.

use crate::ledger::{drain, migrated};
use crate::scene::{dump, dump_schema, health, indexes, Scene, SECRETS};
use imi_domain::authority::{
    AuthorityKind, AuthorityStatus, Flag, Keyword, KeywordList, Workflow, WorkflowRole,
};
use imi_projections::directory::{
    self, AuthorityDirectory, DirectoryEntry, DirectoryQuery, DirectorySearch, ReadOptions,
    Visibility,
};
use imi_projections::rebuild::rebuild;
use imi_projections::runner::{apply_batch, ensure_slot, Runner, LIVE_BATCH};
use imi_projections::{Projection, Slot};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// Applies the log to the live slot in small batches, so one authority's events are split
/// across batches.
pub async fn build(pool: &sqlx::PgPool, projection: &dyn Projection) {
    ensure_slot(pool, projection, Slot::Live).await.unwrap();
    drain(pool, projection, 3).await;
}

/// Builds `projection` incrementally, rebuilds it blue/green and checks both are equal, that
/// the live slot continues from the rebuilt checkpoint and that no shadow is left.
pub async fn assert_rebuild_equals_incremental(pool: &sqlx::PgPool, projection: &dyn Projection) {
    build(pool, projection).await;
    let incremental = dump_schema(pool, projection.name()).await;
    let live_indexes = indexes(pool, projection.name()).await;
    assert!(!live_indexes.is_empty());
    assert!(incremental.values().any(|rows| !rows.is_empty()));
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    let report = rebuild(pool, projection, |_| {}).await.unwrap();
    assert_eq!(report.events_applied, events as u64);
    assert_eq!(dump_schema(pool, projection.name()).await, incremental);
    assert_eq!(indexes(pool, projection.name()).await, live_indexes);
    assert_eq!(
        apply_batch(pool, projection, Slot::Live, LIVE_BATCH)
            .await
            .unwrap(),
        0
    );
    let slots: Vec<String> = sqlx::query_scalar("SELECT slot FROM projections WHERE name = $1")
        .bind(projection.name())
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(slots, ["live"]);
}

fn ids(entries: &[DirectoryEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.authority_id.as_str()).collect()
}

async fn find(pool: &sqlx::PgPool, q: DirectoryQuery) -> Vec<String> {
    let q = DirectoryQuery { limit: 50, ..q };
    let found = directory::find(pool, &q).await.unwrap();
    ids(&found).into_iter().map(String::from).collect()
}

#[tokio::test]
async fn a_rebuilt_directory_equals_the_incrementally_built_one() {
    let scene = Scene::full().await;
    assert_rebuild_equals_incremental(&scene.pool, &AuthorityDirectory).await;
}

#[tokio::test]
async fn the_old_tables_serve_while_the_shadow_builds() {
    let scene = Scene::full().await;
    build(&scene.pool, &AuthorityDirectory).await;
    let before = dump(&scene.pool, "authority_directory", "authorities").await;
    let mut progress = Vec::new();
    rebuild(&scene.pool, &AuthorityDirectory, |p| {
        progress.push(p.events_applied);
    })
    .await
    .unwrap();
    assert!(!progress.is_empty());
    assert_eq!(
        dump(&scene.pool, "authority_directory", "authorities").await,
        before
    );
}

#[tokio::test]
async fn a_runner_finding_the_first_version_rebuilds_blue_green() {
    let scene = Scene::new().await;
    scene.german_nimic().await;
    build(&scene.pool, &AuthorityDirectory).await;
    sqlx::query("UPDATE projections SET version = 1 WHERE name = 'authority_directory'")
        .execute(&scene.pool)
        .await
        .unwrap();
    let task = tokio::spawn(Runner::new(scene.pool.clone(), Arc::new(AuthorityDirectory)).run());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let version: i32 = sqlx::query_scalar(
            "SELECT version FROM projections WHERE name = 'authority_directory' AND slot = 'live'",
        )
        .fetch_one(&scene.pool)
        .await
        .unwrap();
        if version == AuthorityDirectory.version() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no rebuild");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
    let entry = directory::get(&scene.pool, "nimic-de").await.unwrap();
    assert_eq!(entry.unwrap().official_name, "Bundesverwaltungsamt");
}

#[tokio::test]
async fn an_entry_shows_the_authority_its_areas_roles_competences_and_coordinators() {
    let scene = Scene::full().await;
    build(&scene.pool, &AuthorityDirectory).await;
    let e = directory::get_with(
        &scene.pool,
        "blaek",
        &ReadOptions {
            language: Some("fr".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .expect("validated, so listed");
    assert_eq!(e.status, AuthorityStatus::Validated);
    assert!(e.validated());
    assert_eq!(e.kind, AuthorityKind::CompetentAuthority.as_str());
    assert_eq!(e.member_state, "DE");
    assert_eq!(e.region.as_deref(), Some("DE-BY"));
    assert_eq!(e.official_name, "Bayerische Landesärztekammer");
    assert_eq!(
        e.description.as_deref(),
        Some("Registration of physicians in Bavaria")
    );
    assert_eq!(e.contact.email.as_deref(), Some("info@blaek.example.de"));
    assert_eq!(e.invited_by.as_deref(), Some("zab"));
    assert_eq!(e.validating_coordinator.as_deref(), Some("zab"));
    assert!(e.registered_at.is_some() && e.validated_at >= e.registered_at);
    assert_eq!(e.informal_titles.len(), 4);
    assert_eq!(e.informal_titles["pl"], "Bawarska Izba Lekarska");
    // The caller's language first, then English, then by code.
    let order: Vec<(&str, bool)> = e
        .titles
        .iter()
        .map(|t| (t.language.as_str(), t.fallback))
        .collect();
    assert_eq!(
        order,
        [("fr", false), ("en", true), ("de", true), ("pl", true)]
    );
    assert_eq!(
        e.title.as_ref().unwrap().text,
        "Chambre des médecins de Bavière"
    );

    let pq = &e.areas["PQ"];
    assert_eq!(pq.access_coordinator, "zab");
    assert_eq!(
        e.role("PQ", Workflow::Requests),
        Some(WorkflowRole::RequestAuthority)
    );
    assert_eq!(e.role("PQ", Workflow::Alerts), None);
    let requests = &pq.workflows[&Workflow::Requests];
    assert_eq!(
        requests.linked_coordinators,
        BTreeSet::from(["nimic-de".to_string()])
    );
    assert_eq!(
        requests.flags,
        BTreeSet::from([Flag::ApprovalOfNewRequests])
    );
    assert_eq!(pq.competences.len(), 2);
    assert!(pq.competences.contains(&health()));
    assert_eq!(
        pq.professions,
        BTreeSet::from(["dentist".to_string(), "doctor".into()])
    );

    let nimic = directory::get(&scene.pool, "nimic-de")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(nimic.kind, "NationalCoordinator");
    assert_eq!(
        nimic.role("PQ", Workflow::Alerts),
        Some(WorkflowRole::IncomingAlertPostbox)
    );
    assert_eq!(nimic.validating_coordinator, None);
    let zab = directory::get(&scene.pool, "zab").await.unwrap().unwrap();
    assert_eq!(zab.coordinated_areas, BTreeSet::from(["PQ".to_string()]));
    assert_eq!(zab.validating_coordinator.as_deref(), Some("nimic-de"));
    let renamed = directory::get(&scene.pool, "gewerbeamt")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        renamed.official_name,
        "Kreisverwaltungsreferat der Landeshauptstadt München"
    );
    assert_eq!(renamed.areas["SD"].service_activities.len(), 1);
    // Without a language: English first, nothing is a fallback.
    assert!(!renamed.title.unwrap().fallback);

    let many = directory::get_many(
        &scene.pool,
        &[
            "zab".into(),
            "blaek".into(),
            "pending".into(),
            "nope".into(),
        ],
        &ReadOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(ids(&many), ["blaek", "zab"]);
}

#[tokio::test]
async fn authorities_awaiting_validation_are_listed_only_to_callers_allowed_to_see_them() {
    let scene = Scene::new().await;
    scene.german_nimic().await;
    scene.limic().await;
    scene.invite("blaek").await;
    scene.invite("pending").await;
    scene.blaek_registers().await;
    build(&scene.pool, &AuthorityDirectory).await;

    assert_eq!(directory::get(&scene.pool, "blaek").await.unwrap(), None);
    let everyone = find(&scene.pool, DirectoryQuery::default()).await;
    assert_eq!(everyone, ["nimic-de", "zab"]);
    let allowed = DirectoryQuery {
        visibility: Visibility::IncludingAwaitingValidation,
        ..Default::default()
    };
    // The invited authority that has not registered is never in the directory.
    assert_eq!(
        find(&scene.pool, allowed.clone()).await,
        ["blaek", "nimic-de", "zab"]
    );
    let e = directory::get_with(
        &scene.pool,
        "blaek",
        &ReadOptions {
            visibility: Visibility::IncludingAwaitingValidation,
            language: None,
        },
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(e.status, AuthorityStatus::AwaitingValidation);
    assert_eq!(e.validating_coordinator, None);
    // Its areas came with the invitation.
    assert_eq!(e.areas["PQ"].access_coordinator, "zab");

    scene.blaek_works().await;
    drain(&scene.pool, &AuthorityDirectory, 100).await;
    assert!(directory::get(&scene.pool, "blaek")
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn search_matches_names_and_titles_in_any_language_ignoring_case_and_accents() {
    let scene = Scene::full().await;
    build(&scene.pool, &AuthorityDirectory).await;
    let text = |t: &str| DirectoryQuery {
        text: Some(t.into()),
        ..Default::default()
    };
    // German: the informal title "Ärztekammer Bayern" and the official name.
    assert_eq!(find(&scene.pool, text("ARZTEKAMMER")).await, ["blaek"]);
    assert_eq!(find(&scene.pool, text("landesärzte")).await, ["blaek"]);
    // French, with and without accents.
    assert_eq!(
        find(&scene.pool, text("médecins de BAVIERE")).await,
        ["blaek"]
    );
    assert_eq!(find(&scene.pool, text("coordinateur")).await, ["nimic-fr"]);
    assert_eq!(
        find(&scene.pool, text("secretariat general")).await,
        ["nimic-fr"]
    );
    // Polish.
    assert_eq!(find(&scene.pool, text("izba lekarska")).await, ["blaek"]);
    // A phrase matches within one name, not across two.
    assert!(find(&scene.pool, text("bayern bavarian")).await.is_empty());
    // Wildcards are text.
    assert!(find(&scene.pool, text("%")).await.is_empty());
    // Blank text filters nothing.
    assert_eq!(find(&scene.pool, text("  ")).await.len(), 5);
    // The renamed authority is found under its new name only.
    assert_eq!(
        find(&scene.pool, text("landeshauptstadt")).await,
        ["gewerbeamt"]
    );
    assert!(find(&scene.pool, text("gewerbeamt")).await.is_empty());

    // The caller's language comes first in every result.
    let hits = directory::find(
        &scene.pool,
        &DirectoryQuery {
            text: Some("IMI".into()),
            language: Some("fr".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(ids(&hits), ["nimic-de", "nimic-fr"]);
    let de = &hits[0].title.as_ref().unwrap();
    assert_eq!((de.language.as_str(), de.fallback), ("en", true));
    let fr = &hits[1].title.as_ref().unwrap();
    assert_eq!((fr.language.as_str(), fr.fallback), ("fr", false));

    // A text with the other filters, a page of one at a time: each arm of the search takes
    // them all.
    let page = |after: Option<&str>, member_state: Option<&str>| {
        let q = DirectoryQuery {
            text: Some("imi".into()),
            after: after.map(Into::into),
            member_state: member_state.map(Into::into),
            limit: 1,
            ..Default::default()
        };
        let pool = scene.pool.clone();
        async move { found_ids(&pool, &q).await }
    };
    assert_eq!(page(None, None).await, ["nimic-de"]);
    assert_eq!(page(Some("nimic-de"), None).await, ["nimic-fr"]);
    assert!(page(Some("nimic-fr"), None).await.is_empty());
    assert_eq!(page(None, Some("FR")).await, ["nimic-fr"]);

    // The first version's search still works.
    let old = directory::search(
        &scene.pool,
        &DirectorySearch {
            text: Some("koordinator".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(ids(&old), ["nimic-de"]);
}

/// The ids `directory::find` answers `q` with, in order.
async fn found_ids(pool: &sqlx::PgPool, q: &DirectoryQuery) -> Vec<String> {
    let found = directory::find(pool, q).await.unwrap();
    ids(&found).into_iter().map(String::from).collect()
}

#[tokio::test]
async fn search_matches_machine_titles_with_every_filter_and_lists_each_authority_once() {
    let scene = Scene::full().await;
    build(&scene.pool, &AuthorityDirectory).await;
    for (id, title) in [
        ("blaek", "Colegio de Médicos de Baviera"),
        ("nimic-fr", "Coordinador IMI de Francia"),
    ] {
        sqlx::query(
            "INSERT INTO machine_titles (authority_id, language, title, source_language, \
             source_title, engine, translated_at, search_key) \
             VALUES ($1, 'es', $2, 'en', $2, 'apertium', now(), $3)",
        )
        .bind(id)
        .bind(title)
        .bind(imi_projections::text::key_of([title]))
        .execute(&scene.pool)
        .await
        .unwrap();
    }
    let q = |text: &str, member_state: Option<&str>, after: Option<&str>, limit: i64| {
        let q = DirectoryQuery {
            text: Some(text.into()),
            member_state: member_state.map(Into::into),
            after: after.map(Into::into),
            limit,
            ..Default::default()
        };
        let pool = scene.pool.clone();
        async move { found_ids(&pool, &q).await }
    };
    // Found by its machine title alone, in any case and accent.
    assert_eq!(q("COLEGIO DE MEDICOS", None, None, 10).await, ["blaek"]);
    // The other filters hold for the machine titles too.
    assert!(q("baviera", Some("FR"), None, 10).await.is_empty());
    assert_eq!(q("baviera", Some("DE"), None, 10).await, ["blaek"]);
    // Matched by a typed title and a machine title: listed once, paged in id order.
    assert_eq!(q("imi", None, None, 10).await, ["nimic-de", "nimic-fr"]);
    assert_eq!(q("imi", None, Some("nimic-de"), 1).await, ["nimic-fr"]);
    assert!(q("coordinador", None, Some("nimic-fr"), 10)
        .await
        .is_empty());
}

#[tokio::test]
async fn search_filters_by_state_kind_region_area_role_and_competence() {
    let scene = Scene::full().await;
    build(&scene.pool, &AuthorityDirectory).await;
    let q = |f: fn(&mut DirectoryQuery)| {
        let mut q = DirectoryQuery::default();
        f(&mut q);
        q
    };
    let pool = &scene.pool;
    assert_eq!(
        find(pool, q(|q| q.member_state = Some("FR".into()))).await,
        ["nimic-fr"]
    );
    assert_eq!(
        find(
            pool,
            q(|q| q.kind = Some(AuthorityKind::LegislativeAreaCoordinator))
        )
        .await,
        ["zab"]
    );
    assert_eq!(
        find(pool, q(|q| q.region = Some("DE-BY".into()))).await,
        ["blaek", "gewerbeamt"]
    );
    assert_eq!(
        find(pool, q(|q| q.area = Some("SD".into()))).await,
        ["gewerbeamt", "nimic-de"]
    );
    assert_eq!(
        find(
            pool,
            q(|q| {
                q.area = Some("PQ".into());
                q.workflow_role = Some(WorkflowRole::RequestCoordinator);
            })
        )
        .await,
        ["nimic-de", "zab"]
    );
    assert_eq!(
        find(
            pool,
            q(|q| q.workflow_role = Some(WorkflowRole::RequestAuthority))
        )
        .await,
        ["blaek", "gewerbeamt"]
    );
    assert_eq!(
        find(
            pool,
            q(|q| {
                q.area = Some("SD".into());
                q.workflow_role = Some(WorkflowRole::RequestAuthority);
            })
        )
        .await,
        ["gewerbeamt"]
    );
    assert_eq!(
        find(pool, q(|q| q.workflow = Some(Workflow::Alerts))).await,
        ["nimic-de", "zab"]
    );
    assert_eq!(
        find(pool, q(|q| q.keyword = Some(health()))).await,
        ["blaek"]
    );
    assert!(find(
        pool,
        q(|q| {
            q.keyword = Some(Keyword {
                list: KeywordList::EconomicActivities,
                code: "HEALTH".into(),
            })
        })
    )
    .await
    .is_empty());
    assert!(find(
        pool,
        q(|q| {
            q.keyword = Some(health());
            q.area = Some("SD".into());
        })
    )
    .await
    .is_empty());
    assert_eq!(
        find(pool, q(|q| q.profession = Some("dentist".into()))).await,
        ["blaek"]
    );
    assert_eq!(
        find(
            pool,
            q(|q| q.service_activity = Some("construction".into()))
        )
        .await,
        ["gewerbeamt"]
    );
    // Filters combine.
    assert_eq!(
        find(
            pool,
            q(|q| {
                q.text = Some("ärztekammer".into());
                q.member_state = Some("FR".into());
            })
        )
        .await,
        Vec::<String>::new()
    );
    // Keyset pagination.
    let first = directory::find(
        pool,
        &DirectoryQuery {
            limit: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(ids(&first), ["blaek", "gewerbeamt"]);
    let next = directory::find(
        pool,
        &DirectoryQuery {
            after: Some("gewerbeamt".into()),
            limit: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(ids(&next), ["nimic-de", "nimic-fr"]);
}

#[tokio::test]
async fn the_directory_holds_no_personal_data() {
    let scene = Scene::full().await;
    build(&scene.pool, &AuthorityDirectory).await;
    for (table, rows) in dump_schema(&scene.pool, "authority_directory").await {
        for row in rows {
            for secret in SECRETS {
                assert!(!row.contains(secret), "{table}: {row}");
            }
            assert!(
                !row.contains("-lda"),
                "user ids are not directory data: {row}"
            );
            assert!(!row.contains("\"ct\""), "no sealed values either: {row}");
        }
    }
}

#[tokio::test]
async fn a_hole_in_an_authoritys_sequence_stops_the_projection() {
    let pool = migrated().await;
    ensure_slot(&pool, &AuthorityDirectory, Slot::Live)
        .await
        .unwrap();
    let registered = serde_json::json!({"NationalCoordinatorRegistered": {
        "member_state": "DE", "official_name": "Amt", "informal_titles": {}}});
    let titled = serde_json::json!({"InformalTitleSet": {"language": "en", "title": "Office"}});
    // The store's chain trigger refuses such a hole; go around it, as a faulty restore or a
    // hand-edited log would.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    for (sequence, payload) in [(1, registered), (3, titled)] {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, hash)
             VALUES ('Authority', 'a-1', $1, 'X', '1', $2, '{}', '\\x00')",
        )
        .bind(sequence)
        .bind(payload)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match apply_batch(&pool, &AuthorityDirectory, Slot::Live, 100).await {
            Err(e) => {
                assert!(e.to_string().contains("hole"), "{e}");
                break;
            }
            Ok(_) => {
                assert!(tokio::time::Instant::now() < deadline, "never refused");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    let applied: i64 = sqlx::query_scalar(
        "SELECT events_applied FROM projections WHERE name = 'authority_directory' AND slot = 'live'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(applied, 0, "the failed batch moved nothing");
}
