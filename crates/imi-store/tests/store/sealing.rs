//! Sealed personal data against a real PostgreSQL: round trips, tampering, wrong master keys,
//! crypto-shredding and concurrent first use of a data key.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Key, KeyInit, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::NaiveDate;
use imi_domain::sealed::Sealed;
use imi_store::sealing::{HeldKeys, KeyRing, MasterKey, Opened, SealError};
use imi_store::PgPool;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

const MASTER_HEX: &str = "8f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Subject {
    name: String,
    birth_date: NaiveDate,
}

fn erika() -> Subject {
    Subject {
        name: "Erika Mustermann".into(),
        birth_date: NaiveDate::from_ymd_opt(1964, 8, 12).unwrap(),
    }
}

fn exchange() -> String {
    format!("InformationRequest/{}", Uuid::new_v4())
}

async fn database() -> imi_testkit::TestDb {
    let db = imi_testkit::fresh_database().await;
    imi_store::migrate(&db.pool).await.unwrap();
    db
}

fn ring(pool: &PgPool) -> KeyRing {
    KeyRing::new(pool.clone(), MasterKey::from_hex(MASTER_HEX).unwrap())
}

fn assert_undecryptable<T: std::fmt::Debug>(result: Result<Opened<T>, SealError>) {
    match result {
        Err(SealError::Undecryptable { .. }) => {}
        other => panic!("expected Undecryptable, got {other:?}"),
    }
}

#[tokio::test]
async fn round_trip() {
    let db = database().await;
    let ring = ring(&db.pool);
    let key_id = exchange();

    let sealed = ring.seal(&key_id, &erika()).await.unwrap();
    assert_eq!(sealed.key_id, key_id);
    assert_eq!(sealed.alg, "A256GCM");
    assert_eq!(BASE64.decode(&sealed.nonce).unwrap().len(), 12);

    // What an event carries holds no clear personal data.
    let json = serde_json::to_string(&sealed).unwrap();
    assert!(!json.contains("Erika") && !json.contains("1964"), "{json}");
    let back: Sealed = serde_json::from_str(&json).unwrap();

    assert_eq!(
        ring.open::<Subject>(&back).await.unwrap(),
        Opened::Value(erika())
    );
    // Another key ring with the same master key (another process) opens it too.
    let other = ring_with_same_master(&db.pool);
    assert_eq!(
        other.open::<Subject>(&sealed).await.unwrap(),
        Opened::Value(erika())
    );
}

fn ring_with_same_master(pool: &PgPool) -> KeyRing {
    KeyRing::new(pool.clone(), MASTER_HEX.parse().unwrap())
}

#[tokio::test]
async fn each_seal_has_its_own_nonce_and_ciphertext() {
    let db = database().await;
    let ring = ring(&db.pool);
    let key_id = exchange();

    let a = ring.seal(&key_id, &erika()).await.unwrap();
    let b = ring.seal(&key_id, &erika()).await.unwrap();
    assert_ne!(a.nonce, b.nonce);
    assert_ne!(a.ciphertext, b.ciphertext);
    assert_eq!(
        ring.open::<Subject>(&a).await.unwrap(),
        Opened::Value(erika())
    );
    assert_eq!(
        ring.open::<Subject>(&b).await.unwrap(),
        Opened::Value(erika())
    );

    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM data_keys")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(count, 1, "one data key per exchange");
}

#[tokio::test]
async fn a_wrong_master_key_is_undecryptable() {
    let db = database().await;
    let key_id = exchange();
    let sealed = ring(&db.pool).seal(&key_id, &erika()).await.unwrap();

    let wrong = KeyRing::new(db.pool.clone(), MasterKey::generate());
    assert_undecryptable(wrong.open::<Subject>(&sealed).await);
    let many = wrong
        .open_many::<Subject>(std::slice::from_ref(&sealed))
        .await
        .unwrap();
    assert!(matches!(many[0], Err(SealError::Undecryptable { .. })));
    // Nor may it seal under a key it cannot unwrap.
    assert!(matches!(
        wrong.seal(&key_id, &erika()).await,
        Err(SealError::Undecryptable { .. })
    ));

    // A wrong master key whose id matches the stored one still fails on authentication.
    sqlx::query("UPDATE data_keys SET master_key_id = $1")
        .bind(wrong.master_key_id())
        .execute(&db.pool)
        .await
        .unwrap();
    match wrong.open::<Subject>(&sealed).await {
        Err(SealError::Undecryptable { reason, .. }) => {
            assert!(reason.contains("does not unwrap"), "{reason}")
        }
        other => panic!("expected Undecryptable, got {other:?}"),
    }
}

#[tokio::test]
async fn tampering_is_undecryptable() {
    let db = database().await;
    let ring = ring(&db.pool);
    let key_id = exchange();
    let other_key = exchange();
    let sealed = ring.seal(&key_id, &erika()).await.unwrap();
    ring.seal(&other_key, &erika()).await.unwrap();

    let mut ct = BASE64.decode(&sealed.ciphertext).unwrap();
    ct[3] ^= 0x01;
    let flipped = Sealed {
        ciphertext: BASE64.encode(&ct),
        ..sealed.clone()
    };
    assert_undecryptable(ring.open::<Subject>(&flipped).await);

    let mut ct = BASE64.decode(&sealed.ciphertext).unwrap();
    let last = ct.len() - 1;
    ct[last] ^= 0x80; // the tag
    let bad_tag = Sealed {
        ciphertext: BASE64.encode(&ct),
        ..sealed.clone()
    };
    assert_undecryptable(ring.open::<Subject>(&bad_tag).await);

    let mut ct = BASE64.decode(&sealed.ciphertext).unwrap();
    ct.truncate(10);
    let truncated = Sealed {
        ciphertext: BASE64.encode(&ct),
        ..sealed.clone()
    };
    assert_undecryptable(ring.open::<Subject>(&truncated).await);

    let mut nonce = BASE64.decode(&sealed.nonce).unwrap();
    nonce[0] ^= 0x01;
    let other_nonce = Sealed {
        nonce: BASE64.encode(&nonce),
        ..sealed.clone()
    };
    assert_undecryptable(ring.open::<Subject>(&other_nonce).await);

    // Moved to another exchange's (existing) key: the key id is authenticated.
    let moved = Sealed {
        key_id: other_key.clone(),
        ..sealed.clone()
    };
    assert_undecryptable(ring.open::<Subject>(&moved).await);

    let garbage = Sealed {
        nonce: "***".into(),
        ..sealed.clone()
    };
    assert_undecryptable(ring.open::<Subject>(&garbage).await);
    let short_nonce = Sealed {
        nonce: BASE64.encode([0u8; 8]),
        ..sealed.clone()
    };
    assert_undecryptable(ring.open::<Subject>(&short_nonce).await);
    let other_alg = Sealed {
        alg: "A128GCM".into(),
        ..sealed.clone()
    };
    assert_undecryptable(ring.open::<Subject>(&other_alg).await);

    // The untouched value still opens; a wrong type is a decode error without the value in it.
    assert_eq!(
        ring.open::<Subject>(&sealed).await.unwrap(),
        Opened::Value(erika())
    );
    let err = ring.open::<u64>(&sealed).await.unwrap_err();
    assert!(matches!(err, SealError::Decode { .. }));
    assert!(!err.to_string().contains("Erika"), "{err}");
}

/// wrapped, wrap_nonce, erased, erased_by, erasure_reason
type Tombstone = (
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    bool,
    Option<String>,
    Option<String>,
);

#[tokio::test]
async fn erasure_shreds_every_value_under_the_key_and_only_those() {
    let db = database().await;
    let ring = ring(&db.pool);
    let erased_key = exchange();
    let kept_key = exchange();

    let mut under_erased = Vec::new();
    for i in 0..3 {
        let subject = Subject {
            name: format!("Person {i}"),
            ..erika()
        };
        under_erased.push(ring.seal(&erased_key, &subject).await.unwrap());
    }
    under_erased.push(ring.seal(&erased_key, "free text").await.unwrap());
    let kept = ring.seal(&kept_key, &erika()).await.unwrap();

    assert!(ring
        .erase(&erased_key, "user/lda-1", "data subject's deletion request")
        .await
        .unwrap());
    assert!(
        !ring
            .erase(&erased_key, "user/lda-2", "again")
            .await
            .unwrap(),
        "a second erasure erases nothing"
    );

    for sealed in &under_erased {
        assert_eq!(
            ring.open::<serde_json::Value>(sealed).await.unwrap(),
            Opened::Erased
        );
    }
    assert_eq!(
        ring.open::<Subject>(&kept).await.unwrap(),
        Opened::Value(erika())
    );

    // The batch read agrees, in input order, with one result per value.
    let mut batch = under_erased.clone();
    batch.insert(1, kept.clone());
    let opened = ring.open_many::<serde_json::Value>(&batch).await.unwrap();
    assert_eq!(opened.len(), 5);
    for (i, result) in opened.into_iter().enumerate() {
        let result = result.unwrap();
        if i == 1 {
            assert_eq!(
                result,
                Opened::Value(serde_json::to_value(erika()).unwrap())
            );
        } else {
            assert!(result.is_erased(), "value {i}: {result:?}");
        }
    }

    // The tombstone: no key material, who, why, when (from the first erasure).
    let (wrapped, wrap_nonce, erased, by, reason): Tombstone = sqlx::query_as(
        "SELECT wrapped, wrap_nonce, erased_at IS NOT NULL, erased_by, erasure_reason \
         FROM data_keys WHERE key_id = $1",
    )
    .bind(&erased_key)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(wrapped.is_none() && wrap_nonce.is_none() && erased);
    assert_eq!(by.as_deref(), Some("user/lda-1"));
    assert_eq!(reason.as_deref(), Some("data subject's deletion request"));

    // Tombstones are final: no un-erasing, re-keying or deleting behind the key ring's back.
    for sql in [
        "UPDATE data_keys SET erased_at = NULL, wrapped = '\\x00', wrap_nonce = '\\x00' WHERE key_id = $1",
        "UPDATE data_keys SET erasure_reason = 'changed' WHERE key_id = $1",
        "DELETE FROM data_keys WHERE key_id = $1",
    ] {
        let result = sqlx::query(sql).bind(&erased_key).execute(&db.pool).await;
        assert!(result.is_err(), "{sql} was allowed");
    }
    assert!(sqlx::query("TRUNCATE data_keys")
        .execute(&db.pool)
        .await
        .is_err());
}

#[tokio::test]
async fn sealing_after_erasure_is_refused() {
    let db = database().await;
    let ring = ring(&db.pool);
    let key_id = exchange();

    ring.seal(&key_id, &erika()).await.unwrap();
    assert!(ring
        .erase(&key_id, "system/retention", "3 years after closure")
        .await
        .unwrap());
    match ring.seal(&key_id, &erika()).await {
        Err(SealError::Erased { key_id: k }) => assert_eq!(k, key_id),
        other => panic!("expected Erased, got {other:?}"),
    }

    // Erasing an exchange that never sealed anything leaves a tombstone all the same.
    let never_used = exchange();
    assert!(ring
        .erase(&never_used, "system/retention", "closure")
        .await
        .unwrap());
    assert!(matches!(
        ring.seal(&never_used, &erika()).await,
        Err(SealError::Erased { .. })
    ));

    // A key that never existed is an error, not "erased".
    let sealed = ring.seal(&exchange(), &erika()).await.unwrap();
    let unknown = Sealed {
        key_id: exchange(),
        ..sealed
    };
    assert!(matches!(
        ring.open::<Subject>(&unknown).await,
        Err(SealError::UnknownKey { .. })
    ));
    let many = ring.open_many::<Subject>(&[unknown]).await.unwrap();
    assert!(matches!(many[0], Err(SealError::UnknownKey { .. })));
    assert!(matches!(
        ring.seal("", &erika()).await,
        Err(SealError::InvalidKeyId)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_seals_agree_on_one_key() {
    let db = database().await;
    // A pool of its own, large enough for the 8 first uses to really run at once.
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .connect(&db.url)
        .await
        .unwrap();
    for round in 0..5 {
        let key_id = exchange();
        let rings: Vec<KeyRing> = (0..8).map(|_| ring_with_same_master(&pool)).collect();
        let subject = |i: usize| Subject {
            name: format!("Person {round}-{i}"),
            ..erika()
        };
        let subjects: Vec<Subject> = (0..8).map(subject).collect();
        let (a, b, c, d, e, f, g, h) = tokio::join!(
            rings[0].seal(&key_id, &subjects[0]),
            rings[1].seal(&key_id, &subjects[1]),
            rings[2].seal(&key_id, &subjects[2]),
            rings[3].seal(&key_id, &subjects[3]),
            rings[4].seal(&key_id, &subjects[4]),
            rings[5].seal(&key_id, &subjects[5]),
            rings[6].seal(&key_id, &subjects[6]),
            rings[7].seal(&key_id, &subjects[7]),
        );
        let sealed = [a, b, c, d, e, f, g, h].map(Result::unwrap);

        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM data_keys WHERE key_id = $1")
            .bind(&key_id)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(count, 1);
        // Every value opens with the one stored key.
        let ring = ring(&db.pool);
        for (i, s) in sealed.iter().enumerate() {
            assert_eq!(
                ring.open::<Subject>(s).await.unwrap(),
                Opened::Value(subjects[i].clone())
            );
        }
    }
    pool.close().await;
}

#[tokio::test]
async fn the_table_holds_neither_the_raw_key_nor_the_plaintext() {
    let db = database().await;
    let ring = ring(&db.pool);
    let key_id = exchange();
    let sealed = ring.seal(&key_id, &erika()).await.unwrap();

    let (wrapped, wrap_nonce, master_key_id): (Vec<u8>, Vec<u8>, String) = sqlx::query_as(
        "SELECT wrapped, wrap_nonce, master_key_id FROM data_keys WHERE key_id = $1",
    )
    .bind(&key_id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(master_key_id, ring.master_key_id());
    assert_eq!(master_key_id.len(), 8);
    assert_eq!(wrap_nonce.len(), 12);
    assert_eq!(wrapped.len(), 32 + 16, "the 32-byte key and its tag");

    // Unwrap by hand (this pins the stored wrapping format) and check the raw key opens the value.
    let master = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(
        &hex::decode(MASTER_HEX).unwrap(),
    ));
    let mut aad = b"imi/data-key/v1\x1f".to_vec();
    aad.extend_from_slice(key_id.as_bytes());
    let raw = master
        .decrypt(
            Nonce::from_slice(&wrap_nonce),
            Payload {
                msg: &wrapped,
                aad: &aad,
            },
        )
        .unwrap();
    assert_eq!(raw.len(), 32);
    assert_ne!(&wrapped[..32], &raw[..], "the stored key is wrapped");

    let data_key = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&raw));
    let clear = data_key
        .decrypt(
            Nonce::from_slice(&BASE64.decode(&sealed.nonce).unwrap()),
            Payload {
                msg: &BASE64.decode(&sealed.ciphertext).unwrap(),
                aad: key_id.as_bytes(),
            },
        )
        .unwrap();
    assert_eq!(serde_json::from_slice::<Subject>(&clear).unwrap(), erika());

    // Neither the raw key (in any encoding) nor the clear value appears anywhere in the table.
    let dump: String = sqlx::query_scalar("SELECT string_agg(d::text, E'\\n') FROM data_keys d")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    for needle in [
        hex::encode(&raw),
        BASE64.encode(&raw),
        "Erika".to_owned(),
        "1964-08-12".to_owned(),
        String::from_utf8(clear.clone()).unwrap(),
    ] {
        assert!(!dump.contains(&needle), "the table holds {needle}");
    }
    let raw_inside: bool = sqlx::query_scalar(
        "SELECT bool_or(position($1 in wrapped) > 0 OR position($2 in wrapped) > 0) FROM data_keys",
    )
    .bind(&raw)
    .bind(&clear)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(!raw_inside);
}

#[tokio::test]
async fn database_errors_do_not_leak_sql() {
    let db = database().await;
    let ring = ring(&db.pool);
    db.pool.close().await;
    let err = ring.seal(&exchange(), &erika()).await.unwrap_err();
    assert!(matches!(err, SealError::Database(_)));
    assert_eq!(err.to_string(), "database error");
}

#[tokio::test]
async fn keys_created_in_a_batch_open_and_erase_like_the_others() {
    let db = database().await;
    let ring = ring(&db.pool);
    let ids: Vec<String> = (0..3).map(|_| exchange()).collect();

    let sealers = ring.create_keys(ids.clone()).await.unwrap();
    let sealed: Vec<Sealed> = sealers.iter().map(|s| s.seal(&erika()).unwrap()).collect();
    for (s, id) in sealed.iter().zip(&ids) {
        assert_eq!(&s.key_id, id);
        assert_eq!(
            ring.open::<Subject>(s).await.unwrap(),
            Opened::Value(erika())
        );
    }
    // A seal one at a time uses the stored key.
    let later = ring.seal(&ids[0], &erika()).await.unwrap();
    assert_eq!(
        ring.open::<Subject>(&later).await.unwrap(),
        Opened::Value(erika())
    );
    assert!(ring.erase(&ids[1], "dpo", "test").await.unwrap());
    assert!(ring.open::<Subject>(&sealed[1]).await.unwrap().is_erased());
    assert_eq!(
        ring.open::<Subject>(&sealed[2]).await.unwrap(),
        Opened::Value(erika())
    );
}

#[tokio::test]
async fn a_batch_naming_an_existing_key_is_refused_whole() {
    let db = database().await;
    let ring = ring(&db.pool);
    let existing = exchange();
    let sealed = ring.seal(&existing, &erika()).await.unwrap();
    let erased = exchange();
    ring.erase(&erased, "dpo", "test").await.unwrap();
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM data_keys")
            .fetch_one(&db.pool)
            .await
            .unwrap()
    };
    let before = count().await;

    for taken in [&existing, &erased] {
        let err = ring
            .create_keys([exchange(), taken.clone()])
            .await
            .unwrap_err();
        assert!(matches!(err, SealError::KeyExists), "{err:?}");
    }
    assert!(matches!(
        ring.create_keys([String::new()]).await.unwrap_err(),
        SealError::InvalidKeyId
    ));
    assert_eq!(
        count().await,
        before,
        "nothing of a refused batch is stored"
    );
    // The existing key is untouched.
    assert_eq!(
        ring.open::<Subject>(&sealed).await.unwrap(),
        Opened::Value(erika())
    );
}

#[tokio::test]
async fn a_view_reads_each_of_its_keys_once() {
    let db = database().await;
    let ring = ring(&db.pool);
    let (first, second) = (exchange(), exchange());
    let a = ring.seal(&first, &erika()).await.unwrap();
    let b = ring.seal(&first, "free text").await.unwrap();
    let c = ring.seal(&second, &erika()).await.unwrap();
    let unknown = Sealed {
        key_id: exchange(),
        ..c.clone()
    };

    let mut held = HeldKeys::default();
    assert_eq!(
        ring.open_held::<Subject>(&mut held, &a).await.unwrap(),
        Opened::Value(erika())
    );
    // Erased after the view read its key: the view, holding it, still opens the exchange's
    // other values (it was not read again); the next view sees the erasure.
    assert!(ring.erase(&first, "dpo", "test").await.unwrap());
    assert_eq!(
        ring.open_held::<String>(&mut held, &b).await.unwrap(),
        Opened::Value("free text".to_string())
    );
    assert!(ring.open::<String>(&b).await.unwrap().is_erased());
    assert!(ring
        .open_held::<String>(&mut HeldKeys::default(), &b)
        .await
        .unwrap()
        .is_erased());

    // Many at once: the held key as held, the others read (the missing one as unknown, again
    // when asked again).
    let opened = ring
        .open_many_held::<serde_json::Value>(&mut held, &[b.clone(), c.clone(), unknown.clone()])
        .await
        .unwrap();
    assert_eq!(
        opened[0].as_ref().unwrap(),
        &Opened::Value("free text".into())
    );
    assert_eq!(
        opened[1].as_ref().unwrap(),
        &Opened::Value(serde_json::to_value(erika()).unwrap())
    );
    assert!(matches!(opened[2], Err(SealError::UnknownKey { .. })));
    assert!(matches!(
        ring.open_held::<Subject>(&mut held, &unknown).await,
        Err(SealError::UnknownKey { .. })
    ));
    // A held key still checks each value: one moved to another exchange's key does not open.
    let moved = Sealed {
        key_id: second.clone(),
        ..a.clone()
    };
    assert_undecryptable(ring.open_held::<Subject>(&mut held, &moved).await);
}
