//! `schema.graphql` at the workspace root is the schema the code exports.

use std::path::PathBuf;

#[test]
fn schema_graphql_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema.graphql");
    let sdl = imi_gateway::schema_sdl();
    if std::env::var_os("IMI_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &sdl).expect("write schema.graphql");
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == sdl,
        "schema.graphql does not match the schema the code exports.\n\
         Regenerate it from the workspace root with\n    \
         cargo run -p imi -- schema > schema.graphql\n\
         (or IMI_UPDATE_SCHEMA=1 cargo test -p imi-gateway --test gateway schema_graphql)\n\
         and review the diff: a removed or changed field breaks clients."
    );
}
