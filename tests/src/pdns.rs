//! A real PowerDNS Authoritative server for the tests: Debian's `pdns_server`
//! with the SQLite backend, on free loopback ports, API enabled. Installed by
//! `.ci/install-test-deps`; outside CI a missing server skips (with a message),
//! in CI it fails the test.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SCHEMA: &str = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql";
pub const API_KEY: &str = "relabel-test-key";

pub struct Pdns {
    child: Option<Child>,
    dir: PathBuf,
    pub api_port: u16,
    pub dns_port: u16,
    /// A stand-in secondary: PowerDNS sends the NOTIFY of primary zones here
    /// (`also-notify`).
    secondary: std::net::UdpSocket,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Pdns {
    /// Starts a server with an empty database, or `None` when PowerDNS is not
    /// installed here (never in CI: there it panics).
    pub async fn start() -> Option<Self> {
        let installed = || {
            std::path::Path::new("/usr/sbin/pdns_server").exists()
                && std::path::Path::new(SCHEMA).exists()
                && crate::deps::tool("sqlite3")
        };
        if !crate::deps::ensure("PowerDNS", installed) {
            return None;
        }
        let dir =
            std::env::temp_dir().join(format!("relabel-pdns-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let schema = std::fs::read_to_string(SCHEMA).unwrap();
        let status = Command::new("sqlite3")
            .arg(dir.join("pdns.sqlite3"))
            .arg(schema)
            .status()
            .expect("sqlite3 (installed by .ci/install-test-deps)");
        assert!(status.success(), "pdns schema");
        let secondary = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp socket");
        let mut pdns = Self {
            child: None,
            dir,
            api_port: free_port(),
            dns_port: free_port(),
            secondary,
        };
        pdns.resume().await;
        Some(pdns)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    /// Starts (again) on the same ports and database.
    pub async fn resume(&mut self) {
        let child = Command::new("/usr/sbin/pdns_server")
            .args([
                "--no-config",
                "--daemon=no",
                "--guardian=no",
                "--disable-syslog",
                "--loglevel=3",
                "--launch=gsqlite3",
                &format!(
                    "--gsqlite3-database={}",
                    self.dir.join("pdns.sqlite3").display()
                ),
                "--local-address=127.0.0.1",
                &format!("--local-port={}", self.dns_port),
                "--api=yes",
                &format!("--api-key={API_KEY}"),
                "--webserver=yes",
                "--webserver-address=127.0.0.1",
                &format!("--webserver-port={}", self.api_port),
                "--webserver-allow-from=127.0.0.0/8",
                &format!("--socket-dir={}", self.dir.display()),
                "--primary=yes",
                &format!(
                    "--also-notify={}",
                    self.secondary.local_addr().expect("udp address")
                ),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pdns_server");
        self.child = Some(child);
        let client = reqwest::Client::new();
        for _ in 0..100 {
            let up = client
                .get(format!("{}/api/v1/servers/localhost", self.url()))
                .header("X-API-Key", API_KEY)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("pdns_server did not come up");
    }

    /// Stops the server (the database stays).
    pub fn pause(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The zone as the API shows it.
    pub async fn zone(&self, zone: &str) -> Option<serde_json::Value> {
        let rsp = reqwest::Client::new()
            .get(format!(
                "{}/api/v1/servers/localhost/zones/{zone}.",
                self.url()
            ))
            .header("X-API-Key", API_KEY)
            .send()
            .await
            .ok()?;
        if !rsp.status().is_success() {
            return None;
        }
        rsp.json().await.ok()
    }
}

impl Pdns {
    /// The zone named in the next DNS NOTIFY (opcode 4) the stand-in secondary
    /// receives within `wait`.
    pub async fn next_notify(&self, wait: Duration) -> Option<String> {
        let socket = self.secondary.try_clone().ok()?;
        tokio::task::spawn_blocking(move || {
            socket.set_read_timeout(Some(wait)).ok()?;
            let mut buf = [0u8; 512];
            loop {
                let n = socket.recv(&mut buf).ok()?;
                if n > 12 && (buf[2] >> 3) & 0x0f == 4 {
                    return Some(question_name(&buf[12..n]));
                }
            }
        })
        .await
        .ok()
        .flatten()
    }
}

/// The name of a DNS question (uncompressed labels), without the root dot.
fn question_name(mut q: &[u8]) -> String {
    let mut labels = Vec::new();
    while let Some((&len, rest)) = q.split_first() {
        let len = usize::from(len);
        if len == 0 || len > rest.len() {
            break;
        }
        labels.push(String::from_utf8_lossy(&rest[..len]).into_owned());
        q = &rest[len..];
    }
    labels.join(".")
}

impl Drop for Pdns {
    fn drop(&mut self) {
        self.pause();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
