//! Headless Chromium driven over the DevTools protocol, for browser tests.
//!
//! Chromium listens on a loopback port (`--remote-debugging-port=0`); this module
//! speaks just enough WebSocket (RFC 6455, client side) to send CDP commands and
//! read their answers. No browser-automation crate: the protocol is small.

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

pub struct Browser {
    child: Child,
    ws: TcpStream,
    next_id: u64,
    session: String,
    profile: std::path::PathBuf,
}

/// The Chromium binary, if installed (`.ci/run` installs Debian's `chromium`).
pub fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

impl Browser {
    pub async fn launch() -> anyhow::Result<Self> {
        let bin = chromium().context("chromium is not installed (apt-get install chromium)")?;
        let profile = std::env::temp_dir().join(format!(
            "relabel-chromium-{}",
            uuid::Uuid::now_v7().simple()
        ));
        let mut child = Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--window-size=1280,1000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let stderr = child.stderr.take().context("stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let ws_url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(at) = line.find("ws://") {
                    return Ok::<_, anyhow::Error>(line[at..].trim().to_owned());
                }
            }
            bail!("chromium exited before listening")
        })
        .await??;
        // Keep draining stderr so chromium never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let rest = ws_url.trim_start_matches("ws://");
        let (addr, path) = rest.split_at(rest.find('/').context("ws path")?);
        let mut ws = TcpStream::connect(addr).await?;
        let key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 16]>());
        ws.write_all(
            format!(
                "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            .as_bytes(),
        )
        .await?;
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(ws.read_u8().await?);
        }
        if !head.starts_with(b"HTTP/1.1 101") {
            bail!(
                "websocket upgrade refused: {}",
                String::from_utf8_lossy(&head)
            );
        }
        let mut b = Self {
            child,
            ws,
            next_id: 0,
            session: String::new(),
            profile,
        };
        let target = b
            .call("Target.createTarget", json!({ "url": "about:blank" }))
            .await?;
        let attached = b
            .call(
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
            )
            .await?;
        b.session = attached["sessionId"]
            .as_str()
            .context("session")?
            .to_owned();
        b.call("Page.enable", json!({})).await?;
        b.call("Runtime.enable", json!({})).await?;
        Ok(b)
    }

    async fn send_frame(&mut self, payload: &[u8]) -> anyhow::Result<()> {
        let mut frame = vec![0x81u8];
        let len = payload.len();
        if len < 126 {
            frame.push(0x80 | len as u8);
        } else if len <= u16::MAX as usize {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
        let mask: [u8; 4] = rand::random();
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.ws.write_all(&frame).await?;
        Ok(())
    }

    async fn read_message(&mut self) -> anyhow::Result<Value> {
        let mut message = Vec::new();
        loop {
            let b0 = self.ws.read_u8().await?;
            let b1 = self.ws.read_u8().await?;
            let len = match b1 & 0x7f {
                126 => u64::from(self.ws.read_u16().await?),
                127 => self.ws.read_u64().await?,
                n => u64::from(n),
            };
            let mut payload = vec![0; usize::try_from(len)?];
            self.ws.read_exact(&mut payload).await?;
            match b0 & 0x0f {
                0x8 => bail!("browser closed the connection"),
                0x9 => continue, // ping: chromium does not expect pongs from CDP clients
                _ => message.extend(payload),
            }
            if b0 & 0x80 != 0 {
                return Ok(serde_json::from_slice(&message)?);
            }
        }
    }

    /// Sends a command (to the page session once attached) and waits for its answer.
    pub async fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        self.send_frame(msg.to_string().as_bytes()).await?;
        let answer = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let m = self.read_message().await?;
                if m["id"] == json!(id) {
                    return Ok::<_, anyhow::Error>(m);
                }
            }
        })
        .await??;
        if let Some(e) = answer.get("error") {
            bail!("{method}: {e}");
        }
        Ok(answer["result"].clone())
    }

    /// Evaluates JavaScript in the page (promises awaited) and returns its value.
    pub async fn eval(&mut self, js: &str) -> anyhow::Result<Value> {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": js, "awaitPromise": true, "returnByValue": true }),
            )
            .await?;
        if let Some(e) = r.get("exceptionDetails") {
            bail!("script failed: {e}");
        }
        Ok(r["result"]["value"].clone())
    }

    pub async fn goto(&mut self, url: &str) -> anyhow::Result<()> {
        self.call("Page.navigate", json!({ "url": url })).await?;
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")
            .await
    }

    /// Waits until `condition` (a JavaScript expression) is true, up to 15 s.
    pub async fn wait_for(&mut self, condition: &str) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            // A navigation in progress destroys the context: just try again.
            if let Ok(v) = self.eval(&format!("!!({condition})")).await
                && v == json!(true)
            {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(15) {
                let url = self.eval("location.href").await.unwrap_or_default();
                bail!("timed out waiting for `{condition}` on {url}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the page.
    pub async fn screenshot(&mut self, path: &std::path::Path) -> anyhow::Result<()> {
        let r = self
            .call(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true }),
            )
            .await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap_or_default())?;
        std::fs::write(path, png)?;
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
