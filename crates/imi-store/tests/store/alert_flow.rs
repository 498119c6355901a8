//! The Alert aggregate through its bus with the store's lookup and the reference data's
//! closure periods: an SD alert from a German competent authority through its national
//! coordinator (Germany's postbox) to France, and its closure with the clock moved.

use crate::scene::{area, data, grants, user, workflows, Scene};
use chrono::Duration;
use imi_domain::actor::Actor;
use imi_domain::alert::{
    alert_key_id, AlertCommand, AlertContent, AlertEvent, AlertPeriods, ClosurePeriods,
    ServicesAlert,
};
use imi_domain::authority::{AuthorityCommand, AuthorityKind, UserRole, Workflow, WorkflowRole};
use imi_domain::command::Issued;
use imi_domain::error::DomainError;
use imi_domain::reference::MemberState;
use imi_domain::sealed::Sealed;
use imi_store::alert_bus::{alert_bus_with, closure_periods, AlertBus, SharedAlertServices};
use imi_store::commands::{AggregateConfig, CommandError};
use imi_store::metadata::CommandMetadata;
use imi_store::wake::Wake;
use std::collections::BTreeSet;

/// Germany (`nimic-de`, its postbox in SD, LDA `de-lda` a data administrator and alert
/// disseminator there; `ca-sd`, an alert authority linked to it, whose LDA `ca-sd-lda` is an
/// alert handler) and France (`nimic-fr`, its postbox, `fr-lda` alert handler and
/// disseminator).
async fn alert_scene(scene: &Scene) {
    for ms in ["DE", "FR"] {
        let (nimic, lda) = scene.nimic(ms).await;
        let lda_id = lda.user_id().unwrap().to_string();
        scene
            .ok(
                &nimic,
                &lda,
                AuthorityCommand::GrantUserRoles {
                    user_id: lda_id.clone(),
                    area: area("SD"),
                    roles: BTreeSet::from([UserRole::DataAdministrator]),
                },
            )
            .await;
        scene
            .ok(
                &nimic,
                &lda,
                AuthorityCommand::GrantAreaAccess {
                    area: area("SD"),
                    workflows: workflows(&[(
                        Workflow::Alerts,
                        WorkflowRole::IncomingAlertPostbox,
                        &[nimic.as_str()],
                    )]),
                },
            )
            .await;
        scene
            .ok(
                &nimic,
                &lda,
                AuthorityCommand::GrantUserRoles {
                    user_id: lda_id,
                    area: area("SD"),
                    roles: BTreeSet::from([UserRole::AlertHandler, UserRole::AlertDisseminator]),
                },
            )
            .await;
    }
    let de = user("de-lda", "nimic-de");
    let first_user = scene.new_user("ca-sd-lda").await;
    scene
        .ok(
            "ca-sd",
            &de,
            AuthorityCommand::RegisterAuthority {
                authority_id: "ca-sd".into(),
                kind: AuthorityKind::CompetentAuthority,
                region: None,
                coordinated_areas: BTreeSet::new(),
                access: grants(
                    "SD",
                    &[(
                        Workflow::Alerts,
                        WorkflowRole::AlertAuthority,
                        &["nimic-de"],
                    )],
                ),
                data: data("Gewerbeaufsichtsamt"),
                first_user,
            },
        )
        .await;
    scene
        .ok(
            "ca-sd",
            &user("ca-sd-lda", "ca-sd"),
            AuthorityCommand::GrantUserRoles {
                user_id: "ca-sd-lda".into(),
                area: area("SD"),
                roles: BTreeSet::from([UserRole::AlertHandler]),
            },
        )
        .await;
}

struct Alerts<'a> {
    scene: &'a Scene,
    bus: AlertBus,
}

impl Alerts<'_> {
    async fn run(&self, by: &Actor, command: AlertCommand) -> Result<(), DomainError> {
        match self
            .bus
            .execute(
                "alert-1",
                Issued::new(by.clone(), command),
                CommandMetadata::for_actor(by),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(CommandError::Domain(e)) => Err(e),
            Err(other) => panic!("the store failed: {other:?}"),
        }
    }

    async fn ok(&self, by: &Actor, command: AlertCommand) {
        if let Err(e) = self.run(by, command).await {
            panic!("refused: {e}");
        }
    }

    async fn sealed(&self, value: &str) -> Sealed {
        self.scene
            .keys
            .seal(&alert_key_id("alert-1"), &serde_json::json!(value))
            .await
            .unwrap()
    }

    async fn events(&self) -> Vec<AlertEvent> {
        let rows: Vec<serde_json::Value> = sqlx::query_scalar(
            "SELECT payload FROM events WHERE aggregate_type = 'Alert' AND aggregate_id = 'alert-1'
              ORDER BY sequence",
        )
        .fetch_all(&self.scene.pool)
        .await
        .unwrap();
        rows.into_iter()
            .map(|p| serde_json::from_value(p).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn the_closure_periods_come_from_the_reference_data() {
    let scene = Scene::new(AggregateConfig::default()).await;
    let expected = Some(ClosurePeriods {
        comment_days: 7,
        objection_days: 14,
    });
    assert_eq!(
        closure_periods(&scene.pool, &area("SD")).await.unwrap(),
        expected
    );
    assert_eq!(
        scene.lookup().closure_periods(&area("PQ")).await.unwrap(),
        expected
    );
    assert_eq!(
        closure_periods(&scene.pool, &area("PW")).await.unwrap(),
        None
    );
    assert_eq!(
        closure_periods(&scene.pool, &area("XX")).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn an_sd_alert_from_draft_to_closure_on_the_store() {
    let scene = Scene::new(AggregateConfig {
        snapshot_every: Some(3),
    })
    .await;
    alert_scene(&scene).await;
    let alerts = Alerts {
        scene: &scene,
        bus: alert_bus_with(
            scene.pool.clone(),
            AggregateConfig {
                snapshot_every: Some(3),
            },
            SharedAlertServices::new(scene.lookup()),
            Wake::local_only(),
        ),
    };
    let handler = user("ca-sd-lda", "ca-sd");
    let de = user("de-lda", "nimic-de");
    let fr = user("fr-lda", "nimic-fr");
    let content = AlertContent::Services(ServicesAlert {
        service_activity: None,
        member_state_of_establishment: None,
        dangerous_activity: alerts.sealed("unsafe gas installations").await,
        service_provider: alerts.sealed("Gasbau GmbH, Hauptstr. 1").await,
        attachments: vec![],
    });
    alerts
        .ok(
            &handler,
            AlertCommand::DraftAlert {
                alert_id: "alert-1".into(),
                area: area("SD"),
                content,
            },
        )
        .await;
    alerts
        .ok(
            &handler,
            AlertCommand::SubmitAlert {
                coordinator_id: "nimic-de".into(),
            },
        )
        .await;
    alerts
        .ok(
            &de,
            AlertCommand::BroadcastAlert {
                member_states: BTreeSet::from([MemberState::parse("FR").unwrap()]),
            },
        )
        .await;
    alerts.ok(&fr, AlertCommand::AcknowledgeReceipt).await;
    // The provider's establishment is unknown: Germany, the initiating Member State, closes.
    let reason = alerts.sealed("the installer lost its licence").await;
    alerts
        .ok(
            &handler,
            AlertCommand::ProposeClosure {
                closing_coordinator_id: "nimic-de".into(),
                reason,
            },
        )
        .await;
    let comment = alerts.sealed("agreed").await;
    alerts
        .ok(&de, AlertCommand::CommentOnClosure { comment })
        .await;
    let early = alerts
        .run(&de, AlertCommand::BroadcastClosureProposal)
        .await;
    assert!(
        matches!(&early, Err(DomainError::Refused(why)) if why.contains("comment period runs until")),
        "{early:?}"
    );
    scene.clock.advance(Duration::days(7));
    alerts
        .ok(&Actor::system("scheduler"), AlertCommand::EndCommentPeriod)
        .await;
    let twice = alerts
        .run(&Actor::system("scheduler"), AlertCommand::EndCommentPeriod)
        .await;
    assert_eq!(
        twice,
        Err(DomainError::refused(
            "the end of the comment period is already recorded"
        ))
    );
    alerts.ok(&de, AlertCommand::BroadcastClosureProposal).await;
    let objection = alerts.sealed("still operating").await;
    alerts
        .ok(&fr, AlertCommand::ObjectToClosure { objection })
        .await;
    scene.clock.advance(Duration::days(14));
    alerts.ok(&de, AlertCommand::CloseAlert).await;

    let events = alerts.events().await;
    let types: Vec<String> = events
        .iter()
        .map(cqrs_es::DomainEvent::event_type)
        .collect();
    assert_eq!(
        types,
        [
            "AlertDrafted",
            "AlertSubmitted",
            "AlertBroadcast",
            "ReceiptAcknowledged",
            "ClosureProposed",
            "ClosureCommented",
            "CommentPeriodEnded",
            "ClosureProposalBroadcast",
            "ClosureObjected",
            "AlertClosed"
        ]
    );
    let AlertEvent::AlertBroadcast {
        sending_postbox,
        member_states,
        ..
    } = &events[2]
    else {
        panic!("{:?}", events[2]);
    };
    assert_eq!(sending_postbox.as_deref(), Some("nimic-de"));
    assert_eq!(
        member_states
            .get(&MemberState::parse("FR").unwrap())
            .map(String::as_str),
        Some("nimic-fr")
    );
    // The personal data opens with the alert's key, and only with it.
    let AlertEvent::AlertDrafted {
        content: AlertContent::Services(s),
        ..
    } = &events[0]
    else {
        panic!("{:?}", events[0]);
    };
    let provider = scene
        .keys
        .open::<serde_json::Value>(&s.service_provider)
        .await
        .unwrap();
    assert!(
        matches!(&provider, imi_store::sealing::Opened::Value(v) if v == "Gasbau GmbH, Hauptstr. 1")
    );
    let closed = alerts.run(&fr, AlertCommand::AcknowledgeReceipt).await;
    assert_eq!(closed, Err(DomainError::refused("the alert is closed")));
}
