//! A command seals all its values under its exchange's data key read once (`App::sealer`).

use crate::support::start;
use serde_json::json;

#[tokio::test]
async fn a_commands_sealer_reads_its_key_once() {
    let scene = start().await;
    let key = "InformationRequest/sealed-once";
    let mut sealer = scene.app.sealer(key);
    let first = sealer.seal(&json!("first value")).await.expect("seal");
    // Erased after the sealer read the key: the sealer, holding it, seals the command's next
    // value without reading it again, where a new sealer reads the erasure.
    sqlx::query(
        "UPDATE data_keys SET wrapped = NULL, wrap_nonce = NULL, erased_at = now(),
                erased_by = 'dpo', erasure_reason = 'test'
          WHERE key_id = $1",
    )
    .bind(key)
    .execute(&scene.app.pool)
    .await
    .unwrap();
    let second = sealer.seal(&json!("second value")).await.expect("held key");
    assert_eq!(second.key_id, first.key_id);
    assert!(scene.app.sealer(key).seal(&json!("third")).await.is_err());
}
