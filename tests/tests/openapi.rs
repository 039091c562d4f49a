//! The committed spec (`docs/openapi.json`) must match what the code serves.
//! Regenerate with `RELABEL_BLESS=1 cargo test -p relabel-tests --test openapi`.

#[test]
fn committed_openapi_spec_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let current = relabel_platform::http::api::spec_json();
    if std::env::var("RELABEL_BLESS").is_ok() {
        std::fs::write(&path, format!("{current}\n")).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).expect("docs/openapi.json exists");
    assert!(
        committed.trim_end() == current.trim_end(),
        "docs/openapi.json is out of date: run RELABEL_BLESS=1 cargo test -p relabel-tests --test openapi"
    );
}
