//! Screenshot of a page as a signed-in user, for walking a flow by hand:
//! `cargo run -p relabel-tests --example screenshot -- URL OUT.png [COOKIE=VALUE]`.

use relabel_tests::browser::Browser;
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or_else(|| anyhow::anyhow!("URL missing"))?;
    let out = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("OUT.png missing"))?;
    let mut b = Browser::launch().await?;
    b.call("Network.enable", json!({})).await?;
    if let Some((name, value)) = args.next().as_deref().and_then(|c| c.split_once('=')) {
        b.call(
            "Network.setCookie",
            json!({ "name": name, "value": value, "url": url }),
        )
        .await?;
    }
    b.goto(&url).await?;
    b.screenshot(std::path::Path::new(&out)).await?;
    Ok(())
}
