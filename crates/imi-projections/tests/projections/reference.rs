//! Queries over reference tables: the registers database and the helpdesks; and the SQL
//! folding they search with, which must agree with the Rust folding of the projections.

use crate::ledger::migrated;
use imi_projections::helpdesks::{self, HelpdeskQuery, Owner};
use imi_projections::registers::{self, RegisterSearch};
use imi_projections::text::{self, SqlFold};
use sqlx::PgPool;

/// The reference tables as migration 0006 creates them (created here when the migrations do
/// not yet), with sample rows.
async fn reference_data() -> PgPool {
    let pool = migrated().await;
    sqlx::raw_sql(
        "CREATE SCHEMA IF NOT EXISTS reference;
         CREATE TABLE IF NOT EXISTS reference.registers (
             register_id text PRIMARY KEY, member_state text, names jsonb, content jsonb,
             coverage jsonb, access_conditions jsonb, fees jsonb, url text,
             responsible_authority text, languages text[]);
         CREATE TABLE IF NOT EXISTS reference.helpdesks (
             helpdesk_id text PRIMARY KEY, member_state text NULL, names jsonb, email text,
             phone text, url text, languages text[]);",
    )
    .execute(&pool)
    .await
    .unwrap();
    let states: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('reference.member_states')::text")
            .fetch_one(&pool)
            .await
            .unwrap();
    if states.is_some() {
        // The migration's registers and helpdesks refer to its Member States.
        sqlx::query(
            "INSERT INTO reference.member_states (code, names, eu_member)
             SELECT code, jsonb_build_object('en', code), true
               FROM unnest(ARRAY['DE', 'FR', 'EL']) AS code
             ON CONFLICT DO NOTHING",
        )
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query(
        r#"INSERT INTO reference.registers
             (register_id, member_state, names, content, coverage, access_conditions, fees, url,
              responsible_authority, languages)
           SELECT * FROM jsonb_to_recordset($1) AS r(register_id text, member_state text,
               names jsonb, content jsonb, coverage jsonb, access_conditions jsonb, fees jsonb,
               url text, responsible_authority text, languages text[])"#,
    )
    .bind(serde_json::json!([
        {
            "register_id": "de-handelsregister", "member_state": "DE",
            "names": {"de": "Handelsregister", "en": "Commercial register",
                      "fr": "Registre du commerce"},
            "content": {"de": "Kaufleute und Gesellschaften: Firma, Sitz, Insolvenz.",
                        "en": "Merchants and companies: name, seat, insolvency."},
            "coverage": {"de": "Deutschland", "en": "Germany"},
            "access_conditions": {"en": "Public"},
            "fees": {"de": "Gebührenfrei", "en": "Free of charge"},
            "url": "https://www.handelsregister.de",
            "responsible_authority": "Registergerichte der Länder",
            "languages": ["de", "en"]
        },
        {
            "register_id": "de-arztregister", "member_state": "DE",
            "names": {"de": "Ärzteregister", "en": "Register of physicians"},
            "content": {"de": "Zugelassene Ärztinnen und Ärzte."},
            "fees": "Gebührenfrei",
            "languages": ["de"]
        },
        {
            "register_id": "el-iatroi", "member_state": "EL",
            "names": {"el": "Μητρώο Ιατρών", "en": "Register of doctors"},
            "languages": ["el"]
        },
        {
            "register_id": "fr-rne", "member_state": "FR",
            "names": {"fr": "Registre national des entreprises",
                      "en": "National register of companies"},
            "content": {"fr": "Entreprises immatriculées en France"},
            "languages": ["fr"]
        }
    ]))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO reference.helpdesks
             (helpdesk_id, member_state, names, email, phone, url, languages)
         SELECT * FROM jsonb_to_recordset($1) AS h(helpdesk_id text, member_state text,
             names jsonb, email text, phone text, url text, languages text[])",
    )
    .bind(serde_json::json!([
        {"helpdesk_id": "helpdesk-de", "member_state": "DE",
         "names": {"de": "IMI-Helpdesk (Deutschland)", "en": "IMI helpdesk of Germany"},
         "email": "imi-helpdesk-de@nimic.example.eu", "languages": ["de", "en"]},
        {"helpdesk_id": "helpdesk-fr", "member_state": "FR",
         "names": {"fr": "Service d'assistance IMI (France)", "en": "IMI helpdesk of France"},
         "email": "imi-helpdesk-fr@nimic.example.eu", "languages": ["fr"]},
        {"helpdesk_id": "imi-helpdesk-commission", "member_state": null,
         "names": {"en": "IMI helpdesk of the European Commission",
                   "fr": "Service d'assistance IMI de la Commission européenne"},
         "email": "imi-helpdesk@ec.example.eu", "phone": "+32 2 000 00 00",
         "url": "https://ec.europa.eu/imi", "languages": ["en", "fr", "de"]}
    ]))
    .execute(&pool)
    .await
    .unwrap();
    pool
}

async fn search(pool: &PgPool, q: RegisterSearch) -> Vec<String> {
    let q = RegisterSearch { limit: 50, ..q };
    registers::search(pool, &q)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.register_id)
        .collect()
}

fn text(t: &str) -> RegisterSearch {
    RegisterSearch {
        text: Some(t.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn registers_are_found_by_text_in_any_language_and_by_member_state() {
    let pool = reference_data().await;
    assert_eq!(search(&pool, text("ÄRZTE")).await, ["de-arztregister"]);
    assert_eq!(search(&pool, text("arzte")).await, ["de-arztregister"]);
    assert_eq!(
        search(&pool, text("registre du COMMERCE")).await,
        ["de-handelsregister"]
    );
    assert_eq!(
        search(&pool, text("immatriculees")).await,
        ["fr-rne"],
        "content, accents folded"
    );
    assert_eq!(
        search(&pool, text("insolvency")).await,
        ["de-handelsregister"]
    );
    assert_eq!(search(&pool, text("μητρωο ιατρων")).await, ["el-iatroi"]);
    assert_eq!(search(&pool, text("register")).await.len(), 4);
    assert!(search(&pool, text("register_of")).await.is_empty());
    let german = RegisterSearch {
        member_state: Some("DE".into()),
        ..text("register")
    };
    assert_eq!(
        search(&pool, german).await,
        ["de-arztregister", "de-handelsregister"]
    );
    let in_french = RegisterSearch {
        available_in: Some("fr".into()),
        ..Default::default()
    };
    assert_eq!(search(&pool, in_french).await, ["fr-rne"]);
    let page = RegisterSearch {
        after: Some("de-handelsregister".into()),
        limit: 1,
        ..Default::default()
    };
    assert_eq!(
        registers::search(&pool, &page)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.register_id)
            .collect::<Vec<_>>(),
        ["el-iatroi"]
    );
}

#[tokio::test]
async fn registers_show_the_callers_language_first_with_a_visible_fallback() {
    let pool = reference_data().await;
    let r = registers::get(&pool, "de-handelsregister", Some("fr"))
        .await
        .unwrap()
        .unwrap();
    let name = r.names.text.as_ref().unwrap();
    assert_eq!(
        (name.language.as_str(), name.text.as_str(), name.fallback),
        ("fr", "Registre du commerce", false)
    );
    assert_eq!(r.names.texts.len(), 3);
    assert_eq!(r.names.texts[1].language, "en");
    // No French content: English, marked as a fallback.
    let content = r.content.text.as_ref().unwrap();
    assert_eq!((content.language.as_str(), content.fallback), ("en", true));
    assert_eq!(
        r.fees
            .texts
            .iter()
            .map(|t| t.language.as_str())
            .collect::<Vec<_>>(),
        ["en", "de"]
    );
    assert_eq!(r.url.as_deref(), Some("https://www.handelsregister.de"));
    assert_eq!(
        r.responsible_authority.as_deref(),
        Some("Registergerichte der Länder")
    );
    assert_eq!(r.languages, ["de", "en"]);
    assert_eq!(r.member_state.as_deref(), Some("DE"));

    let fr = registers::get(&pool, "fr-rne", Some("pl"))
        .await
        .unwrap()
        .unwrap();
    let name = fr.names.text.unwrap();
    assert_eq!((name.language.as_str(), name.fallback), ("en", true));
    // Only in French: French, visibly a fallback.
    let content = fr.content.text.unwrap();
    assert_eq!((content.language.as_str(), content.fallback), ("fr", true));
    assert_eq!(fr.coverage, registers::Multilingual::default());

    // A value that is not texts by language is passed on as stored.
    let odd = registers::get(&pool, "de-arztregister", Some("de"))
        .await
        .unwrap()
        .unwrap();
    assert!(odd.fees.texts.is_empty());
    assert_eq!(odd.fees.other, Some(serde_json::json!("Gebührenfrei")));
    assert_eq!(registers::get(&pool, "nope", None).await.unwrap(), None);
}

#[tokio::test]
async fn helpdesks_of_a_member_state_and_of_the_commission() {
    let pool = reference_data().await;
    let all = helpdesks::list(
        &pool,
        &HelpdeskQuery {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(all.len(), 3);
    let commission = helpdesks::list(
        &pool,
        &HelpdeskQuery {
            owner: Some(Owner::Commission),
            language: Some("fr".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(commission.len(), 1);
    assert!(commission[0].is_commission());
    let name = commission[0].name.as_ref().unwrap();
    assert_eq!(
        (name.language.as_str(), name.fallback),
        ("fr", false),
        "{name:?}"
    );
    let french = helpdesks::list(
        &pool,
        &HelpdeskQuery {
            owner: Some(Owner::MemberState("FR".into())),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(french[0].helpdesk_id, "helpdesk-fr");
    let page = helpdesks::list(
        &pool,
        &HelpdeskQuery {
            after: Some("helpdesk-de".into()),
            limit: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(page[0].helpdesk_id, "helpdesk-fr");

    let contacts = helpdesks::contacts_for(&pool, "DE", Some("de"))
        .await
        .unwrap();
    assert_eq!(contacts.national.len(), 1);
    let de = &contacts.national[0];
    assert_eq!(de.name.as_ref().unwrap().text, "IMI-Helpdesk (Deutschland)");
    assert_eq!(
        de.email.as_deref(),
        Some("imi-helpdesk-de@nimic.example.eu")
    );
    assert_eq!(contacts.commission.len(), 1);
    let ec = &contacts.commission[0];
    assert_eq!(ec.helpdesk_id, "imi-helpdesk-commission");
    // No German name: English, marked as a fallback.
    let name = ec.name.as_ref().unwrap();
    assert_eq!((name.language.as_str(), name.fallback), ("en", true));
    assert_eq!(ec.phone.as_deref(), Some("+32 2 000 00 00"));
    let nobody = helpdesks::contacts_for(&pool, "IS", None).await.unwrap();
    assert!(nobody.national.is_empty());
    assert_eq!(nobody.commission.len(), 1);
}

#[tokio::test]
async fn sql_folding_agrees_with_the_projections_folding() {
    let pool = migrated().await;
    let samples: Vec<String> = [
        "Bundesamt für Justiz",
        "  STRAßE  der   Einheit ",
        "ÉCOLE NATIONALE D'ADMINISTRATION",
        "Łódzki Urząd Wojewódzki",
        "Ħal Qormi – Ministeru tas-Saħħa",
        "Υπουργείο Υγείας ΟΔΟΣ Αθηνάς",
        "Министерство на здравеопазването",
        "Ærø Kommune; Øresund; Þingvellir; Đakovo",
        "Sveikatos apsaugos ministerija ĄČĘĖĮŠŲŪŽ",
        "Tab\tnew\nline\u{a0}nbsp\u{2003}em",
        "Ministerul Sănătății — Ţară, Şcoală",
        "İzmir ıi",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let fold = SqlFold::get();
    let sql = format!(
        "SELECT {} FROM (SELECT $1::text AS f, $2::text AS t) fold,
                unnest($3::text[]) WITH ORDINALITY AS s(v, i) ORDER BY s.i",
        fold.sql("s.v", "fold.f", "fold.t")
    );
    let folded: Vec<String> = sqlx::query_scalar(&sql)
        .bind(&fold.from)
        .bind(&fold.to)
        .bind(&samples)
        .fetch_all(&pool)
        .await
        .unwrap();
    let expected: Vec<String> = samples.iter().map(|s| text::fold(s)).collect();
    assert_eq!(folded, expected);
}
