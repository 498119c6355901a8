//! Live batches write rows as one simple query with their values inlined: no text, however
//! made, may end its literal early or change what is written.

use crate::ledger::migrated;
use imi_projections::fold::replace_rows;
use imi_projections::writes::{dollar_quoted, inlined};
use serde::Serialize;

/// Texts built from the characters that matter to SQL literals and array literals.
fn texts(seed: u64, count: usize) -> Vec<String> {
    const PIECES: [&str; 12] = [
        "$", "v", "1", "$v$", "'", "\\", "\"", "{", "}", ",", " ", "é",
    ];
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut texts: Vec<String> = ["", "$v", "abc$v", "$v$", "$v1$$v$", "$", "v$", "NULL"]
        .map(String::from)
        .to_vec();
    while texts.len() < count {
        let len = next() % 12;
        texts.push((0..len).map(|_| PIECES[(next() % 12) as usize]).collect());
    }
    texts
}

#[derive(Serialize)]
struct Row {
    id: String,
    note: String,
}

#[tokio::test]
async fn any_text_survives_the_inlined_literals_of_a_live_batch() {
    let pool = migrated().await;
    let mut conn = pool.acquire().await.unwrap();
    for text in texts(0x5eed, 300) {
        let back: String = sqlx::query_scalar(&format!("SELECT {}::text", dollar_quoted(&text)))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(back, text);
    }

    sqlx::query("CREATE TABLE noted (id text PRIMARY KEY, note text NOT NULL)")
        .execute(&mut *conn)
        .await
        .unwrap();
    let ids: Vec<String> = texts(0xfeed, 120)
        .into_iter()
        .enumerate()
        .map(|(i, t)| format!("{i}{t}"))
        .collect();
    let notes = texts(0xbeef, ids.len());
    let rows: Vec<Row> = ids
        .iter()
        .zip(&notes)
        .map(|(id, note)| Row {
            id: id.clone(),
            note: note.clone(),
        })
        .collect();
    replace_rows(&mut conn, "noted", "id", &ids, &rows)
        .await
        .unwrap();
    // Replaced again: the first rows go, by their ids, whatever they hold.
    replace_rows(&mut conn, "noted", "id", &ids, &rows)
        .await
        .unwrap();
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT id, note FROM noted ORDER BY id COLLATE \"C\"")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    let mut expected: Vec<(String, String)> = ids.into_iter().zip(notes).collect();
    expected.sort();
    assert_eq!(stored, expected);
    // Rows replaced by none: gone.
    let gone: Vec<String> = expected.iter().take(10).map(|(id, _)| id.clone()).collect();
    replace_rows::<Row>(&mut conn, "noted", "id", &gone, &[])
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM noted")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(left, expected.len() as i64 - 10);
}

#[tokio::test]
async fn parameters_inlined_in_one_pass_read_back_as_bound() {
    let pool = migrated().await;
    let mut conn = pool.acquire().await.unwrap();
    // Values that hold what looks like a parameter, with a tenth parameter after the first.
    for (a, b) in texts(0xa11, 60).iter().zip(texts(0xb22, 60)) {
        let (a, b) = (format!("{a}$2"), format!("$1{b}$10"));
        let sql = "SELECT $1::text, $2::text, $10::text, $1::text || $2::text";
        let values = [
            dollar_quoted(&a),
            dollar_quoted(&b),
            "'3'".to_string(),
            "'4'".to_string(),
            "'5'".to_string(),
            "'6'".to_string(),
            "'7'".to_string(),
            "'8'".to_string(),
            "'9'".to_string(),
            "'ten'".to_string(),
        ];
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let back: (String, String, String, String) = sqlx::query_as(&inlined(sql, &values))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(
            back,
            (a.clone(), b.clone(), "ten".into(), format!("{a}{b}"))
        );
    }
    // A parameter with no value stays as written.
    assert_eq!(inlined("SELECT $1, $2", &["1"]), "SELECT 1, $2");
}
