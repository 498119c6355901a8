//! The alert read models: overview, full view (sealed), queues, statistics.
//!
//! The history, written through the Alert aggregate's commands (a
//! `CommandBus<Alert<InMemoryAlertServices>>`, its authorities given as summaries, the clock
//! moved by building a new bus):
//!
//! | alert | what happens |
//! |---|---|
//! | `a1` | SD, `de-ca` through `de-coord` to FR and AT (MSE AT); both postboxes acknowledge, FR disseminates to `fr-ca`, which adds information through `fr-iap`; `at-iap` proposes closure and closes it after the comment and objection periods, FR objecting |
//! | `a2` | SD, `de-ca` through `de-coord` to FR; withdrawn |
//! | `a3` | PQ, `de-ca`, drafted only; its 3-day deadline passes |

use crate::directory::{assert_rebuild_equals_incremental, build};
use crate::ledger::migrated;
use crate::scene::{dump_schema, user};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use imi_domain::actor::Actor;
use imi_domain::alert::testing::InMemoryAlertServices;
use imi_domain::alert::{
    alert_key_id, Alert, AlertCommand, AlertContent, AlertQueue, AlertStatus, InformationKind,
    ProfessionalAlert, RestrictionScope, ServicesAlert,
};
use imi_domain::authority::testing::InMemoryDirectory;
use imi_domain::authority::{
    AreaAccess, AuthorityKind, AuthorityStatus, AuthoritySummary, UserRole, UserSummary, Workflow,
    WorkflowAccess, WorkflowRole,
};
use imi_domain::command::Issued;
use imi_domain::reference::MemberState;
use imi_domain::sealed::Sealed;
use imi_projections::alert_full::{self, AlertFullProjection};
use imi_projections::alert_overview::{self, AlertFilter, AlertOverviewProjection};
use imi_projections::alert_queue::{self, AlertQueueProjection};
use imi_projections::alert_statistics::{self, AlertStatisticsProjection};
use imi_projections::Projection;
use imi_store::commands::{AggregateConfig, CommandBus};
use imi_store::metadata::CommandMetadata;
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};

/// Clear personal data of the alerts: none may appear in a projection.
pub(crate) const SECRETS: [&str; 4] = ["Gasbau", "Hauptstr", "Dr. Fritz Falsch", "still operating"];

pub(crate) fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

pub(crate) fn ms(code: &str) -> MemberState {
    MemberState::parse(code).unwrap()
}

fn authority(
    id: &str,
    member_state: &str,
    role: WorkflowRole,
    linked: &str,
    users: &[(&str, &[UserRole])],
) -> AuthoritySummary {
    let access = AreaAccess {
        access_coordinator: "nobody".into(),
        workflows: BTreeMap::from([(
            Workflow::Alerts,
            WorkflowAccess {
                role,
                linked_coordinators: BTreeSet::from([linked.to_string()]),
                flags: BTreeSet::new(),
            },
        )]),
        competences: BTreeSet::new(),
        professions: BTreeSet::new(),
        service_activities: BTreeSet::new(),
    };
    let kind = if role == WorkflowRole::AlertAuthority {
        AuthorityKind::CompetentAuthority
    } else {
        AuthorityKind::NationalCoordinator
    };
    AuthoritySummary {
        authority_id: id.into(),
        member_state: ms(member_state),
        kind,
        region: None,
        coordinated_areas: BTreeSet::new(),
        status: AuthorityStatus::Validated,
        invited_by: None,
        validating_coordinator: None,
        areas: ["SD", "PQ"]
            .into_iter()
            .map(|a| {
                (
                    imi_domain::authority::LegislativeArea::parse(a).unwrap(),
                    access.clone(),
                )
            })
            .collect(),
        linked_authorities: BTreeSet::new(),
        users: users
            .iter()
            .map(|(u, roles)| {
                let held: BTreeSet<UserRole> = roles.iter().copied().collect();
                (
                    u.to_string(),
                    UserSummary {
                        local_data_administrator: false,
                        active: true,
                        roles: ["SD", "PQ"]
                            .into_iter()
                            .map(|a| {
                                (
                                    imi_domain::authority::LegislativeArea::parse(a).unwrap(),
                                    held.clone(),
                                )
                            })
                            .collect(),
                    },
                )
            })
            .collect(),
    }
}

pub(crate) fn services(at: DateTime<Utc>) -> InMemoryAlertServices {
    use UserRole::*;
    use WorkflowRole::*;
    let both: &[UserRole] = &[AlertHandler, AlertDisseminator];
    let mut dir = InMemoryDirectory::new()
        .at(at)
        .with_area("SD", &[Workflow::Alerts])
        .with_area("PQ", &[Workflow::Alerts])
        .with_profession("PQ", "doctor");
    for a in [
        authority(
            "de-ca",
            "DE",
            AlertAuthority,
            "de-coord",
            &[("de-h", &[AlertHandler])],
        ),
        authority(
            "de-coord",
            "DE",
            AlertCoordinator,
            "de-coord",
            &[("de-d", both)],
        ),
        authority(
            "de-iap",
            "DE",
            IncomingAlertPostbox,
            "de-iap",
            &[("de-i", both)],
        ),
        authority(
            "fr-iap",
            "FR",
            IncomingAlertPostbox,
            "fr-iap",
            &[("fr-i", both)],
        ),
        authority(
            "fr-ca",
            "FR",
            AlertAuthority,
            "fr-iap",
            &[("fr-h", &[AlertHandler])],
        ),
        authority(
            "at-iap",
            "AT",
            IncomingAlertPostbox,
            "at-iap",
            &[("at-i", both)],
        ),
    ] {
        dir = dir.with_authority(a);
    }
    InMemoryAlertServices::new(dir)
        .with_periods("SD", 7, 14)
        .with_periods("PQ", 7, 14)
}

pub(crate) struct History {
    pub(crate) pool: PgPool,
    keys: KeyRing,
    pub(crate) now: DateTime<Utc>,
}

impl History {
    pub(crate) async fn new() -> Self {
        let pool = migrated().await;
        Self {
            keys: KeyRing::new(pool.clone(), MasterKey::generate()),
            pool,
            now: start(),
        }
    }

    pub(crate) fn advance(&mut self, days: i64) {
        self.now += Duration::days(days);
    }

    async fn exec(&self, id: &str, by: Actor, command: AlertCommand) {
        if let Err(e) = self.try_exec(id, by.clone(), command).await {
            panic!("alert {id} by {by:?}: {e}");
        }
    }

    /// Runs `command`, answering the aggregate's (or the store's) refusal.
    pub(crate) async fn try_exec(
        &self,
        id: &str,
        by: Actor,
        command: AlertCommand,
    ) -> Result<(), String> {
        let bus: CommandBus<Alert<InMemoryAlertServices>> = CommandBus::new(
            self.pool.clone(),
            AggregateConfig::default(),
            vec![],
            services(self.now),
            Wake::local_only(),
        );
        let metadata = CommandMetadata::for_actor(&by);
        bus.execute(id, Issued::new(by, command), metadata)
            .await
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    }

    pub(crate) async fn sealed(&self, id: &str, value: &str) -> Sealed {
        self.keys
            .seal(&alert_key_id(id), &serde_json::json!(value))
            .await
            .unwrap()
    }

    pub(crate) async fn sd(&self, id: &str) -> AlertContent {
        AlertContent::Services(ServicesAlert {
            service_activity: None,
            member_state_of_establishment: Some(ms("AT")),
            dangerous_activity: self.sealed(id, "unsafe gas installations").await,
            service_provider: self.sealed(id, "Gasbau GmbH, Hauptstr. 1").await,
            attachments: vec![self.sealed(id, "Gasbau-report.pdf").await],
        })
    }

    /// `a1` and `a2` up to their broadcast.
    async fn broadcast(&self) {
        for (id, to) in [("a1", &["FR", "AT"][..]), ("a2", &["FR"][..])] {
            let content = self.sd(id).await;
            self.exec(
                id,
                user("de-h", "de-ca"),
                AlertCommand::DraftAlert {
                    alert_id: id.into(),
                    area: imi_domain::authority::LegislativeArea::parse("SD").unwrap(),
                    content,
                },
            )
            .await;
            self.exec(
                id,
                user("de-h", "de-ca"),
                AlertCommand::SubmitAlert {
                    coordinator_id: "de-coord".into(),
                },
            )
            .await;
            self.exec(
                id,
                user("de-d", "de-coord"),
                AlertCommand::BroadcastAlert {
                    member_states: to.iter().map(|c| ms(c)).collect(),
                },
            )
            .await;
        }
    }

    async fn the_rest(&mut self) {
        let fr = || user("fr-i", "fr-iap");
        let at = || user("at-i", "at-iap");
        self.exec("a1", fr(), AlertCommand::AcknowledgeReceipt)
            .await;
        self.exec("a1", at(), AlertCommand::AcknowledgeReceipt)
            .await;
        self.exec(
            "a1",
            fr(),
            AlertCommand::AddRecipients {
                authorities: BTreeSet::from(["fr-ca".to_string()]),
            },
        )
        .await;
        let text = self.sealed("a1", "Dr. Fritz Falsch runs the firm").await;
        self.exec(
            "a1",
            user("fr-h", "fr-ca"),
            AlertCommand::SubmitAdditionalInformation {
                information_id: "i1".into(),
                kind: InformationKind::Information,
                coordinator_id: "fr-iap".into(),
                text,
                attachments: vec![],
            },
        )
        .await;
        self.exec(
            "a1",
            fr(),
            AlertCommand::BroadcastAdditionalInformation {
                information_id: "i1".into(),
            },
        )
        .await;
        let reason = self.sealed("a1", "risk gone").await;
        self.exec(
            "a1",
            at(),
            AlertCommand::ProposeClosure {
                closing_coordinator_id: "at-iap".into(),
                reason,
            },
        )
        .await;
        self.advance(7);
        self.exec(
            "a1",
            Actor::system("scheduler"),
            AlertCommand::EndCommentPeriod,
        )
        .await;
        self.exec("a1", at(), AlertCommand::BroadcastClosureProposal)
            .await;
        let objection = self.sealed("a1", "still operating").await;
        self.exec("a1", fr(), AlertCommand::ObjectToClosure { objection })
            .await;
        self.advance(14);
        self.exec("a1", at(), AlertCommand::CloseAlert).await;

        let reason = self.sealed("a2", "unfounded").await;
        self.exec(
            "a2",
            user("de-h", "de-ca"),
            AlertCommand::WithdrawAlert { reason },
        )
        .await;

        let professional = self.sealed("a3", "Dr. Fritz Falsch").await;
        self.exec(
            "a3",
            user("de-h", "de-ca"),
            AlertCommand::DraftAlert {
                alert_id: "a3".into(),
                area: imi_domain::authority::LegislativeArea::parse("PQ").unwrap(),
                content: AlertContent::ProfessionalQualifications(ProfessionalAlert {
                    profession: "doctor".into(),
                    scope: RestrictionScope::Prohibition,
                    applies_from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                    applies_until: None,
                    decided_at: self.now - Duration::days(1),
                    deciding_authority: "Approbationsbehörde".into(),
                    member_state_of_establishment: None,
                    professional,
                    details: None,
                    attachments: vec![],
                }),
            },
        )
        .await;
        self.advance(3);
        self.exec(
            "a3",
            Actor::system("scheduler"),
            AlertCommand::PassThreeDayDeadline,
        )
        .await;
    }
}

fn projections() -> [&'static dyn Projection; 4] {
    [
        &AlertOverviewProjection,
        &AlertFullProjection,
        &AlertQueueProjection,
        &AlertStatisticsProjection,
    ]
}

#[tokio::test]
async fn the_alert_read_models_follow_the_workflow() {
    let mut h = History::new().await;
    h.broadcast().await;
    for p in projections() {
        build(&h.pool, p).await;
    }
    let db = h.pool.clone();
    let pool = &db;
    let queue = |authority: &'static str| async move {
        alert_queue::for_authority(pool, authority, None, None, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|q| (q.alert_id, q.queue))
            .collect::<Vec<_>>()
    };
    let pair = |a: &str, q: AlertQueue| (a.to_string(), q.as_str().to_string());
    assert_eq!(
        queue("at-iap").await,
        [pair("a1", AlertQueue::ToAcknowledge)]
    );
    assert_eq!(
        queue("fr-iap").await,
        [
            pair("a1", AlertQueue::ToAcknowledge),
            pair("a2", AlertQueue::ToAcknowledge)
        ]
    );
    let waiting_since = alert_queue::for_authority(pool, "fr-iap", None, None, 1)
        .await
        .unwrap()[0]
        .since;

    h.the_rest().await;
    for p in projections() {
        build(&h.pool, p).await;
    }
    // Overview: per authority, with filters; the summary says who is involved how.
    let of = |authority: &'static str, filter: AlertFilter| async move {
        alert_overview::for_authority(pool, authority, &filter, None, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.summary.alert_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of("de-ca", AlertFilter::default()).await,
        ["a1", "a2", "a3"]
    );
    assert_eq!(of("fr-ca", AlertFilter::default()).await, ["a1"]);
    assert_eq!(of("fr-iap", AlertFilter::default()).await, ["a1", "a2"]);
    assert_eq!(of("de-iap", AlertFilter::default()).await, ["a1", "a2"]);
    assert!(of("nobody", AlertFilter::default()).await.is_empty());
    let withdrawn = AlertFilter {
        status: Some(AlertStatus::Withdrawn),
        ..AlertFilter::default()
    };
    assert_eq!(of("de-ca", withdrawn).await, ["a2"]);
    let pq = AlertFilter {
        kind: Some("PQ".into()),
        ..AlertFilter::default()
    };
    assert_eq!(of("de-ca", pq).await, ["a3"]);
    let recipient = AlertFilter {
        involvement: Some("Recipient".into()),
        ..AlertFilter::default()
    };
    assert_eq!(of("fr-ca", recipient).await, ["a1"]);
    let page = alert_overview::for_authority(pool, "de-ca", &AlertFilter::default(), Some("a1"), 1)
        .await
        .unwrap();
    assert_eq!(page[0].summary.alert_id, "a2");
    let a1 = alert_overview::get(pool, "a1").await.unwrap().unwrap();
    assert_eq!(a1.summary.status, AlertStatus::Closed);
    assert_eq!(
        a1.summary.closure.as_ref().unwrap().objecting_member_states,
        BTreeSet::from([ms("FR")])
    );
    let a3 = alert_overview::get(pool, "a3").await.unwrap().unwrap();
    assert_eq!(a3.summary.broadcast_in_time, Some(false));
    assert!(alert_overview::get(pool, "a9").await.unwrap().is_none());

    // Full view: the content and history, sealed; the information marked broadcast.
    let mut conn = pool.acquire().await.unwrap();
    let full = alert_full::get(&mut conn, "a1").await.unwrap().unwrap();
    let AlertContent::Services(content) = &full.content else {
        panic!("{:?}", full.content);
    };
    assert_eq!(content.service_provider.key_id, "Alert/a1");
    let entries: Vec<(&str, &str, bool)> = full
        .entries
        .iter()
        .map(|e| (e.entry.as_str(), e.authority_id.as_str(), e.broadcast))
        .collect();
    assert_eq!(
        entries,
        [
            ("Information", "fr-ca", true),
            ("ClosureProposal", "at-iap", true),
            ("Objection", "fr-iap", true)
        ]
    );
    let opened = h
        .keys
        .open::<serde_json::Value>(&full.entries[0].text)
        .await
        .unwrap();
    assert!(
        matches!(&opened, imi_store::sealing::Opened::Value(v) if v == "Dr. Fritz Falsch runs the firm")
    );
    let a2 = alert_full::get(&mut conn, "a2").await.unwrap().unwrap();
    assert_eq!(a2.entries[0].entry, "Withdrawal");

    // Queues: nothing waits on ended alerts; the PQ draft waits on no one.
    for authority in ["de-coord", "fr-iap", "at-iap", "de-iap"] {
        assert!(queue(authority).await.is_empty(), "{authority}");
    }
    assert!(waiting_since >= start());

    // Statistics by Member State, without personal data.
    let stats = alert_statistics::by_member_state(pool, None).await.unwrap();
    let by: BTreeMap<&str, &alert_statistics::MemberStateStatistics> =
        stats.iter().map(|s| (s.member_state.as_str(), s)).collect();
    assert_eq!(by.keys().copied().collect::<Vec<_>>(), ["AT", "DE", "FR"]);
    assert_eq!(
        (
            by["DE"].sent,
            by["DE"].closed,
            by["DE"].withdrawn,
            by["DE"].open
        ),
        (2, 1, 1, 0)
    );
    assert_eq!((by["FR"].received, by["FR"].objections), (2, 1));
    assert_eq!(by["AT"].received, 1);
    assert!(alert_statistics::by_member_state(pool, Some("PQ"))
        .await
        .unwrap()
        .is_empty());

    // No clear personal data anywhere.
    for p in projections() {
        let dump = format!("{:?}", dump_schema(pool, p.name()).await);
        for secret in SECRETS {
            assert!(!dump.contains(secret), "{secret} in {}", p.name());
        }
    }
}

#[tokio::test]
async fn rebuilt_alert_projections_equal_the_incrementally_built_ones() {
    let mut h = History::new().await;
    h.broadcast().await;
    h.the_rest().await;
    // `a4` stays in queues, entered at different times (and batches).
    let content = h.sd("a4").await;
    h.exec(
        "a4",
        user("de-h", "de-ca"),
        AlertCommand::DraftAlert {
            alert_id: "a4".into(),
            area: imi_domain::authority::LegislativeArea::parse("SD").unwrap(),
            content,
        },
    )
    .await;
    h.exec(
        "a4",
        user("de-h", "de-ca"),
        AlertCommand::SubmitAlert {
            coordinator_id: "de-coord".into(),
        },
    )
    .await;
    h.exec(
        "a4",
        user("de-d", "de-coord"),
        AlertCommand::BroadcastAlert {
            member_states: [ms("FR"), ms("AT")].into(),
        },
    )
    .await;
    h.exec(
        "a4",
        user("fr-i", "fr-iap"),
        AlertCommand::AcknowledgeReceipt,
    )
    .await;
    for p in projections() {
        assert_rebuild_equals_incremental(&h.pool, p).await;
    }
    let waiting = alert_queue::for_authority(&h.pool, "at-iap", None, None, 10)
        .await
        .unwrap();
    let disseminate = alert_queue::for_authority(&h.pool, "fr-iap", None, None, 10)
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(disseminate.len(), 1);
    assert_eq!(disseminate[0].queue, "ToDisseminate");
    // Each entered its queue with its own event.
    assert!(waiting[0].since < disseminate[0].since);
}
