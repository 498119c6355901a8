//! The coordination tree: children of a coordinator, coordinators and ancestors of an
//! authority, per area and workflow.

use crate::directory::{assert_rebuild_equals_incremental, build};
use crate::scene::{dump_schema, Scene, SECRETS};
use imi_domain::authority::{AuthorityStatus, Workflow, WorkflowRole};
use imi_projections::coordination::{
    self, Ancestry, Child, ChildrenQuery, Coordination, Link, LinkFilter, Relation,
};

fn link(
    authority: &str,
    coordinator: &str,
    relation: Relation,
    area: Option<&str>,
    workflow: Option<Workflow>,
    role: Option<WorkflowRole>,
) -> Link {
    Link {
        authority_id: authority.into(),
        coordinator_id: coordinator.into(),
        relation,
        area: area.map(String::from),
        workflow,
        role,
    }
}

fn child_ids(children: &[Child]) -> Vec<&str> {
    children
        .iter()
        .map(|c| c.node.authority_id.as_str())
        .collect()
}

fn all() -> ChildrenQuery {
    ChildrenQuery {
        limit: 50,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_rebuilt_tree_equals_the_incrementally_built_one() {
    let scene = Scene::full().await;
    assert_rebuild_equals_incremental(&scene.pool, &Coordination).await;
}

#[tokio::test]
async fn children_of_a_coordinator_with_the_links_that_make_them_so() {
    let scene = Scene::full().await;
    build(&scene.pool, &Coordination).await;
    let mut db = scene.pool.acquire().await.unwrap();

    let zab = coordination::children(&mut db, "zab", &all())
        .await
        .unwrap();
    assert_eq!(child_ids(&zab), ["blaek", "pending"]);
    let blaek = &zab[0];
    assert_eq!(blaek.node.status, AuthorityStatus::Validated);
    assert_eq!(blaek.node.kind, "CompetentAuthority");
    assert_eq!(blaek.node.region.as_deref(), Some("DE-BY"));
    // zab invited, validated and manages PQ for blaek; blaek was relinked to nimic-de.
    assert_eq!(
        blaek.links,
        [
            link(
                "blaek",
                "zab",
                Relation::AccessCoordinator,
                Some("PQ"),
                None,
                None
            ),
            link("blaek", "zab", Relation::Inviting, None, None, None),
            link("blaek", "zab", Relation::Validating, None, None, None),
        ]
    );
    // An invitation not yet answered.
    let pending = &zab[1];
    assert_eq!(pending.node.status, AuthorityStatus::Invited);
    assert!(pending.links.contains(&link(
        "pending",
        "zab",
        Relation::LinkedCoordinator,
        Some("PQ"),
        Some(Workflow::Requests),
        Some(WorkflowRole::RequestAuthority)
    )));
    let validated = ChildrenQuery {
        statuses: vec![AuthorityStatus::Validated],
        ..all()
    };
    let only = coordination::children(&mut db, "zab", &validated)
        .await
        .unwrap();
    assert_eq!(child_ids(&only), ["blaek"]);

    // The national coordinator: never its own child.
    let nimic = coordination::children(&mut db, "nimic-de", &all())
        .await
        .unwrap();
    assert_eq!(child_ids(&nimic), ["blaek", "gewerbeamt", "zab"]);
    assert_eq!(
        nimic[0].links,
        [link(
            "blaek",
            "nimic-de",
            Relation::LinkedCoordinator,
            Some("PQ"),
            Some(Workflow::Requests),
            Some(WorkflowRole::RequestAuthority)
        )]
    );
    let linked_in_sd = ChildrenQuery {
        filter: LinkFilter {
            relation: Some(Relation::LinkedCoordinator),
            area: Some("SD".into()),
            workflow: Some(Workflow::Requests),
        },
        ..all()
    };
    let sd = coordination::children(&mut db, "nimic-de", &linked_in_sd)
        .await
        .unwrap();
    assert_eq!(child_ids(&sd), ["gewerbeamt"]);
    assert_eq!(sd[0].links.len(), 1);
    let validating = ChildrenQuery {
        filter: LinkFilter {
            relation: Some(Relation::Validating),
            ..Default::default()
        },
        ..all()
    };
    assert_eq!(
        child_ids(
            &coordination::children(&mut db, "nimic-de", &validating)
                .await
                .unwrap()
        ),
        ["gewerbeamt", "zab"]
    );
    // Pages.
    let page = ChildrenQuery {
        after: Some("blaek".into()),
        limit: 1,
        ..Default::default()
    };
    assert_eq!(
        child_ids(
            &coordination::children(&mut db, "nimic-de", &page)
                .await
                .unwrap()
        ),
        ["gewerbeamt"]
    );
    // A competent authority coordinates no one; France is apart.
    assert!(coordination::children(&mut db, "blaek", &all())
        .await
        .unwrap()
        .is_empty());
    assert!(coordination::children(&mut db, "nimic-fr", &all())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn coordinators_and_ancestors_of_an_authority() {
    let scene = Scene::full().await;
    build(&scene.pool, &Coordination).await;
    let mut db = scene.pool.acquire().await.unwrap();

    let direct = coordination::coordinators_of(&mut *db, "blaek", &LinkFilter::default())
        .await
        .unwrap();
    assert_eq!(
        direct,
        [
            link(
                "blaek",
                "zab",
                Relation::AccessCoordinator,
                Some("PQ"),
                None,
                None
            ),
            link("blaek", "zab", Relation::Inviting, None, None, None),
            link(
                "blaek",
                "nimic-de",
                Relation::LinkedCoordinator,
                Some("PQ"),
                Some(Workflow::Requests),
                Some(WorkflowRole::RequestAuthority)
            ),
            link("blaek", "zab", Relation::Validating, None, None, None),
        ]
    );

    let Ancestry { ancestors, links } =
        coordination::ancestors(&mut db, "blaek", &LinkFilter::default())
            .await
            .unwrap();
    let found: Vec<(&str, i32)> = ancestors
        .iter()
        .map(|a| (a.node.authority_id.as_str(), a.depth))
        .collect();
    assert_eq!(found, [("nimic-de", 1), ("zab", 1)]);
    assert!(links.contains(&link(
        "zab",
        "nimic-de",
        Relation::Validating,
        None,
        None,
        None
    )));
    assert!(links.iter().all(|l| l.coordinator_id != l.authority_id));

    // Up the chain of validating coordinators: zab, then the NIMIC that validated zab.
    let validating = LinkFilter {
        relation: Some(Relation::Validating),
        ..Default::default()
    };
    let chain = coordination::ancestors(&mut db, "blaek", &validating)
        .await
        .unwrap();
    let found: Vec<(&str, i32, &str)> = chain
        .ancestors
        .iter()
        .map(|a| (a.node.authority_id.as_str(), a.depth, a.node.kind.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("zab", 1, "LegislativeAreaCoordinator"),
            ("nimic-de", 2, "NationalCoordinator")
        ]
    );
    assert_eq!(
        chain.links,
        [
            link("blaek", "zab", Relation::Validating, None, None, None),
            link("zab", "nimic-de", Relation::Validating, None, None, None),
        ]
    );

    // Per area: blaek's PQ access is managed by zab, whose own PQ access the NIMIC granted.
    let pq_access = LinkFilter {
        relation: Some(Relation::AccessCoordinator),
        area: Some("PQ".into()),
        ..Default::default()
    };
    let pq = coordination::ancestors(&mut db, "blaek", &pq_access)
        .await
        .unwrap();
    let found: Vec<(&str, i32)> = pq
        .ancestors
        .iter()
        .map(|a| (a.node.authority_id.as_str(), a.depth))
        .collect();
    assert_eq!(found, [("zab", 1), ("nimic-de", 2)]);
    let sd_access = LinkFilter {
        area: Some("SD".into()),
        ..pq_access
    };
    assert!(coordination::ancestors(&mut db, "blaek", &sd_access)
        .await
        .unwrap()
        .ancestors
        .is_empty());

    assert_eq!(
        coordination::ancestors(&mut db, "nimic-de", &LinkFilter::default())
            .await
            .unwrap(),
        Ancestry::default()
    );
    let node = coordination::node(&mut *db, "pending")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(node.status, AuthorityStatus::Invited);
    assert_eq!(coordination::node(&mut *db, "nope").await.unwrap(), None);
}

#[tokio::test]
async fn the_tree_holds_no_personal_data() {
    let scene = Scene::full().await;
    build(&scene.pool, &Coordination).await;
    for (table, rows) in dump_schema(&scene.pool, "coordination").await {
        for row in rows {
            for secret in SECRETS {
                assert!(!row.contains(secret), "{table}: {row}");
            }
            assert!(!row.contains("-lda"), "{table}: {row}");
        }
    }
}
