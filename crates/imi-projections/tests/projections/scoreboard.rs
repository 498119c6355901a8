//! The Scoreboard's figures equal hand-computed ones over requests played at known dates.
//!
//! FR (`fr-ca`) answers four requests from DE in January 2026 (area PQ):
//! | request | sent | accepted | full reply (due) | rated (timeliness, effort) |
//! |---|---|---|---|---|
//! | r-1 | Jan 1 10:00 | Jan 8 10:00 (7 days: in time) | Jan 11 (Jan 20): 10 days, by the date | Jan 12: 5, 2 |
//! | r-2 | Jan 2 10:00 | Jan 9 10:01 (late) | Jan 31 (Jan 30): 29 days, late | Feb 1: 1, 1 |
//! | r-3 | Jan 20 10:00 | never | | |
//! | r-4 | Jan 3 10:00 | withdrawn on Jan 5 | | |

use crate::directory::build;
use crate::ledger::migrated;
use crate::requests::{pq, services};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use imi_domain::actor::Actor;
use imi_domain::command::Issued;
use imi_domain::request::{request_key_id, InformationRequest, RequestCommand, RequestContent};
use imi_domain::scoreboard::{overall, Colour, Indicator};
use imi_projections::request_scoreboard::{self, RequestScoreboard};
use imi_store::commands::{AggregateConfig, CommandBus};
use imi_store::metadata::CommandMetadata;
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};

fn at(month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, hour, minute, 0)
        .unwrap()
}

fn date(month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, month, day).unwrap()
}

struct Played {
    pool: PgPool,
    keys: KeyRing,
}

impl Played {
    async fn run(&self, id: &str, when: DateTime<Utc>, by: (&str, &str), command: RequestCommand) {
        let bus: CommandBus<InformationRequest<_>> = CommandBus::new(
            self.pool.clone(),
            AggregateConfig::default(),
            vec![],
            services().at(when),
            Wake::local_only(),
        );
        let actor = Actor::User {
            user_id: by.0.into(),
            authority_id: by.1.into(),
        };
        let metadata = CommandMetadata::for_actor(&actor);
        bus.execute(id, Issued::new(actor, command), metadata)
            .await
            .unwrap_or_else(|e| panic!("{id} at {when}: {e:?}"));
    }

    async fn sent(&self, id: &str, when: DateTime<Utc>, due: NaiveDate) {
        let subject = self
            .keys
            .seal(&request_key_id(id), "someone")
            .await
            .unwrap();
        let content = RequestContent {
            question_set: "PQ-GEN".into(),
            questions: BTreeSet::from(["PQ-GEN-01".to_string()]),
            free_text: None,
            subject,
            attachments: vec![],
            proposed_answer_date: due,
            responding_authority: "fr-ca".into(),
            request_coordinator: None,
        };
        let draft = RequestCommand::Draft {
            request_id: id.into(),
            area: pq(),
            content,
        };
        self.run(id, when, DE, draft).await;
        self.run(id, when, DE, RequestCommand::Send).await;
    }

    async fn accepted(&self, id: &str, when: DateTime<Utc>) {
        let assign = RequestCommand::Assign {
            handlers: BTreeSet::from(["fr-handler".to_string()]),
        };
        self.run(id, when, ("fr-allocator", "fr-ca"), assign).await;
        let accept = RequestCommand::Accept {
            request_coordinator: None,
        };
        self.run(id, when, FR, accept).await;
    }

    async fn answered(&self, id: &str, when: DateTime<Utc>) {
        let answer = self.keys.seal(&request_key_id(id), "yes").await.unwrap();
        let reply = RequestCommand::Reply {
            answers: BTreeMap::from([("PQ-GEN-01".to_string(), answer)]),
            attachments: vec![],
        };
        self.run(id, when, FR, reply).await;
    }

    async fn rated(&self, id: &str, when: DateTime<Utc>, timeliness: u8, effort: u8) {
        let rate = RequestCommand::RateReply { timeliness, effort };
        self.run(id, when, DE, rate).await;
    }
}

const DE: (&str, &str) = ("de-handler", "de-ca");
const FR: (&str, &str) = ("fr-handler", "fr-ca");

async fn played() -> Played {
    let pool = migrated().await;
    let p = Played {
        keys: KeyRing::new(pool.clone(), MasterKey::generate()),
        pool,
    };
    p.sent("r-1", at(1, 1, 10, 0), date(1, 20)).await;
    p.sent("r-2", at(1, 2, 10, 0), date(1, 30)).await;
    p.sent("r-4", at(1, 3, 10, 0), date(1, 30)).await;
    let withdraw = RequestCommand::Withdraw {
        reason: "sent by mistake".into(),
    };
    p.run("r-4", at(1, 5, 10, 0), DE, withdraw).await;
    p.accepted("r-1", at(1, 8, 10, 0)).await;
    p.accepted("r-2", at(1, 9, 10, 1)).await;
    p.answered("r-1", at(1, 11, 10, 0)).await;
    p.rated("r-1", at(1, 12, 10, 0), 5, 2).await;
    p.sent("r-3", at(1, 20, 10, 0), date(2, 20)).await;
    p.answered("r-2", at(1, 31, 10, 0)).await;
    p.rated("r-2", at(2, 1, 10, 0), 1, 1).await;
    build(&p.pool, &RequestScoreboard).await;
    p
}

/// (value, cases, colour) of each indicator, in order.
async fn figures(
    pool: &PgPool,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> (Vec<(Option<f64>, i64, Option<Colour>)>, i32) {
    let rows = request_scoreboard::by_member_state(pool, date(1, 1), to, None, now)
        .await
        .unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r.member_state.as_str())
            .collect::<Vec<_>>(),
        ["FR"],
        "only the responding Member State has figures"
    );
    let row = &rows[0];
    assert_eq!(
        row.figures.iter().map(|f| f.indicator).collect::<Vec<_>>(),
        Indicator::ALL
    );
    let figures = row
        .figures
        .iter()
        .map(|f| {
            (
                f.value().map(|v| (v * 100.0).round() / 100.0),
                f.count,
                f.colour(),
            )
        })
        .collect();
    (figures, overall(&row.figures))
}

#[tokio::test]
async fn the_figures_of_january_equal_the_hand_computed_ones() {
    use Colour::*;
    let p = played().await;
    // On February 1st r-3's 7 days have passed: late. r-4 was withdrawn within its 7 days.
    let (january, score) = figures(&p.pool, date(2, 1), at(2, 1, 0, 0)).await;
    assert_eq!(
        january,
        [
            (Some(33.33), 3, Some(Red)),   // r-1 of r-1, r-2, r-3
            (Some(19.5), 2, Some(Yellow)), // (10 + 29) / 2 days
            (Some(50.0), 2, Some(Red)),    // r-1 by its date, r-2 a day late
            (Some(0.0), 1, Some(Green)),   // r-1's timeliness 5
            (Some(100.0), 1, Some(Red)),   // r-1's effort 2
        ]
    );
    // Red, yellow, red, green, red.
    assert_eq!(score, -2);

    // On January 25th r-3 still had time to be accepted: it is not counted yet.
    let (early, _) = figures(&p.pool, date(2, 1), at(1, 25, 0, 0)).await;
    assert_eq!(early[0], (Some(50.0), 2, Some(Red)));

    // Through February, r-2's rating (1, 1) counts too.
    let (longer, _) = figures(&p.pool, date(3, 1), at(3, 1, 0, 0)).await;
    assert_eq!(longer[3], (Some(50.0), 2, Some(Red)));
    assert_eq!(longer[4], (Some(100.0), 2, Some(Red)));
}

#[tokio::test]
async fn an_area_without_requests_has_no_rows() {
    let p = played().await;
    let rows = request_scoreboard::by_member_state(
        &p.pool,
        date(1, 1),
        date(2, 1),
        Some("SD"),
        at(2, 1, 0, 0),
    )
    .await
    .unwrap();
    assert!(rows.is_empty());
}
