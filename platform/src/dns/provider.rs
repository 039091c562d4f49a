//! Where zones are served (V4): the `DnsProvider` adapter. [`ZoneFiles`] writes
//! RFC 1035 master files (the embedded default, for any file-based server);
//! [`PowerDns`] drives a PowerDNS Authoritative server through its HTTP API
//! (zones, rrsets, NOTIFY to secondaries).

use super::{Record, zone_file};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The server could not be reached or failed: try again later.
    #[error("DNS server unavailable: {0}")]
    Unavailable(String),
    /// The server refused the zone data.
    #[error("DNS server refused: {0}")]
    Refused(String),
}

/// The zone's fixed part: authoritative nameservers and the SOA mailbox.
#[derive(Clone, Debug)]
pub struct ZoneHead {
    pub nameservers: Vec<String>,
    pub hostmaster: String,
}

#[async_trait]
pub trait DnsProvider: Send + Sync {
    /// Creates the zone or replaces all its records (except SOA/NS) with `records`.
    async fn put_zone(
        &self,
        zone: &str,
        head: &ZoneHead,
        records: &[Record],
    ) -> Result<(), DnsError>;
    /// Removes the zone; a missing zone is not an error.
    async fn delete_zone(&self, zone: &str) -> Result<(), DnsError>;
}

/// One master file per zone in `dir` (`<zone>.zone`), written atomically.
pub struct ZoneFiles {
    pub dir: PathBuf,
}

impl ZoneFiles {
    pub fn path(&self, zone: &str) -> PathBuf {
        self.dir
            .join(format!("{}.zone", zone.trim_end_matches('.')))
    }
}

#[async_trait]
impl DnsProvider for ZoneFiles {
    async fn put_zone(
        &self,
        zone: &str,
        head: &ZoneHead,
        records: &[Record],
    ) -> Result<(), DnsError> {
        // One writer at a time: two changes must not both read the same serial.
        static WRITING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _writing = WRITING.lock().await;
        let path = self.path(zone);
        let previous = tokio::fs::read_to_string(&path)
            .await
            .ok()
            .and_then(|t| super::serial_of(&t));
        let serial = super::next_serial(previous, chrono::Utc::now().date_naive());
        let ns: Vec<&str> = head.nameservers.iter().map(String::as_str).collect();
        let text = zone_file(zone, serial, &ns, &head.hostmaster, records);
        let tmp = path.with_extension("zone.tmp");
        let io = |e: std::io::Error| DnsError::Unavailable(e.to_string());
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        tokio::fs::write(&tmp, text).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)
    }

    async fn delete_zone(&self, zone: &str) -> Result<(), DnsError> {
        match tokio::fs::remove_file(self.path(zone)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(DnsError::Unavailable(e.to_string()))
            }
            _ => Ok(()),
        }
    }
}

/// How PowerDNS sets the SOA serial on every change through its API: `DEFAULT`
/// is `YYYYMMDD01`, or the current serial + 1 when that is not lower, so it
/// grows on every change. (`INCEPTION-INCREMENT`, used before, is a `SOA-EDIT`
/// value that the API ignores: the serial stayed 0 and secondaries never
/// transferred a change.)
const SOA_EDIT_API: &str = "DEFAULT";

/// PowerDNS Authoritative HTTP API (`/api/v1/servers/{id}/zones`).
pub struct PowerDns {
    pub base_url: String,
    pub api_key: String,
    pub server_id: String,
    /// `Native` or `Master` (see `DnsConfig::powerdns_zone_kind`).
    pub zone_kind: String,
    http: reqwest::Client,
}

impl PowerDns {
    pub fn new(base_url: &str, api_key: &str, server_id: &str, zone_kind: &str) -> Self {
        Self {
            zone_kind: zone_kind.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            server_id: server_id.to_owned(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    fn zones_url(&self) -> String {
        format!("{}/api/v1/servers/{}/zones", self.base_url, self.server_id)
    }

    fn zone_url(&self, zone: &str) -> String {
        format!("{}/{}", self.zones_url(), canonical(zone))
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, DnsError> {
        let rsp = req
            .header("X-API-Key", &self.api_key)
            .send()
            .await
            .map_err(|e| DnsError::Unavailable(e.to_string()))?;
        let status = rsp.status();
        if status.is_server_error() {
            let body = rsp.text().await.unwrap_or_default();
            return Err(DnsError::Unavailable(format!("{status}: {body}")));
        }
        Ok(rsp)
    }

    /// The names and types of the zone's rrsets (without SOA and apex NS).
    async fn existing(&self, zone: &str) -> Result<Option<Existing>, DnsError> {
        let rsp = self.send(self.http.get(self.zone_url(zone))).await?;
        if rsp.status() == reqwest::StatusCode::NOT_FOUND
            || rsp.status() == reqwest::StatusCode::UNPROCESSABLE_ENTITY
        {
            return Ok(None);
        }
        let body: serde_json::Value = ok_json(rsp).await?;
        let apex = canonical(zone);
        Ok(Some(Existing {
            soa_edit_api: body["soa_edit_api"].as_str().unwrap_or_default().to_owned(),
            rrsets: body["rrsets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| {
                    Some((
                        r["name"].as_str()?.to_owned(),
                        r["type"].as_str()?.to_owned(),
                    ))
                })
                .filter(|(n, t)| t != "SOA" && !(t == "NS" && *n == apex))
                .collect(),
        }))
    }
}

/// A zone PowerDNS already has.
struct Existing {
    soa_edit_api: String,
    /// Names and types of its rrsets (without SOA and apex NS).
    rrsets: Vec<(String, String)>,
}

async fn ok_json(rsp: reqwest::Response) -> Result<serde_json::Value, DnsError> {
    let status = rsp.status();
    let body = rsp.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(DnsError::Refused(format!("{status}: {body}")));
    }
    if body.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_str(&body).map_err(|e| DnsError::Unavailable(e.to_string()))
}

fn canonical(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

/// The records grouped into PowerDNS rrsets: absolute names, content in
/// presentation format.
fn rrsets(zone: &str, records: &[Record]) -> BTreeMap<(String, String), (u32, Vec<String>)> {
    let zone = canonical(zone);
    let abs = |h: &str| canonical(h);
    let mut sets: BTreeMap<(String, String), (u32, Vec<String>)> = BTreeMap::new();
    for r in records {
        let name = if r.name == "@" {
            zone.clone()
        } else {
            format!("{}.{zone}", r.name)
        };
        let content = match r.rtype.as_str() {
            "CNAME" => abs(&r.content),
            "MX" => format!("{} {}", r.priority.unwrap_or(10), abs(&r.content)),
            "SRV" => {
                let p: Vec<&str> = r.content.split_whitespace().collect();
                match p.as_slice() {
                    [w, port, target] => {
                        format!("{} {w} {port} {}", r.priority.unwrap_or(0), abs(target))
                    }
                    _ => r.content.clone(),
                }
            }
            "TXT" => super::txt_strings(&r.content),
            _ => r.content.clone(),
        };
        let e = sets
            .entry((name, r.rtype.clone()))
            .or_insert((r.ttl, Vec::new()));
        e.0 = e.0.min(r.ttl);
        e.1.push(content);
    }
    sets
}

#[async_trait]
impl DnsProvider for PowerDns {
    async fn put_zone(
        &self,
        zone: &str,
        head: &ZoneHead,
        records: &[Record],
    ) -> Result<(), DnsError> {
        let sets = rrsets(zone, records);
        let json_sets = |changetype: bool| -> Vec<serde_json::Value> {
            sets.iter()
                .map(|((name, rtype), (ttl, contents))| {
                    let mut v = serde_json::json!({
                        "name": name, "type": rtype, "ttl": ttl,
                        "records": contents.iter().map(|c| serde_json::json!({"content": c, "disabled": false})).collect::<Vec<_>>(),
                    });
                    if changetype {
                        v["changetype"] = "REPLACE".into();
                    }
                    v
                })
                .collect()
        };
        match self.existing(zone).await? {
            None => {
                let body = serde_json::json!({
                    "name": canonical(zone),
                    "kind": self.zone_kind,
                    "nameservers": head.nameservers.iter().map(|n| canonical(n)).collect::<Vec<_>>(),
                    "soa_edit_api": SOA_EDIT_API,
                    "rrsets": json_sets(false),
                });
                ok_json(
                    self.send(self.http.post(self.zones_url()).json(&body))
                        .await?,
                )
                .await?;
            }
            Some(existing) => {
                // Zones made with the earlier setting get the one that bumps the
                // serial, before the change that needs it.
                if !existing.soa_edit_api.eq_ignore_ascii_case(SOA_EDIT_API) {
                    let body = serde_json::json!({ "soa_edit_api": SOA_EDIT_API });
                    ok_json(
                        self.send(self.http.put(self.zone_url(zone)).json(&body))
                            .await?,
                    )
                    .await?;
                }
                let mut changes = json_sets(true);
                for (name, rtype) in existing.rrsets {
                    if !sets.contains_key(&(name.clone(), rtype.clone())) {
                        changes.push(serde_json::json!({"name": name, "type": rtype, "changetype": "DELETE"}));
                    }
                }
                let body = serde_json::json!({ "rrsets": changes });
                ok_json(
                    self.send(self.http.patch(self.zone_url(zone)).json(&body))
                        .await?,
                )
                .await?;
            }
        }
        // A primary zone tells its secondaries now rather than at their next
        // SOA refresh. The change is saved either way, so a failed NOTIFY is
        // only logged.
        if self.zone_kind == "Master" {
            let sent = self
                .send(self.http.put(format!("{}/notify", self.zone_url(zone))))
                .await;
            let answer = match sent {
                Ok(rsp) => ok_json(rsp).await.map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = answer {
                tracing::warn!(zone, error = %e, "PowerDNS did not send the NOTIFY");
            }
        }
        Ok(())
    }

    async fn delete_zone(&self, zone: &str) -> Result<(), DnsError> {
        let rsp = self.send(self.http.delete(self.zone_url(zone))).await?;
        if rsp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(());
        }
        ok_json(rsp).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_group_into_rrsets_with_absolute_names() {
        let r = |name: &str, rtype: &str, prio: Option<u16>, content: &str| Record {
            name: name.into(),
            rtype: rtype.into(),
            ttl: 3600,
            priority: prio,
            content: content.into(),
        };
        let sets = rrsets(
            "beispiel.de",
            &[
                r("@", "MX", Some(10), "mx1.example.net"),
                r("@", "MX", Some(20), "mx2.example.net"),
                r("www", "CNAME", None, "beispiel.de"),
                r("_sip._tcp", "SRV", Some(5), "10 5060 sip.beispiel.de"),
            ],
        );
        let mx = &sets[&("beispiel.de.".to_owned(), "MX".to_owned())];
        assert_eq!(mx.1, ["10 mx1.example.net.", "20 mx2.example.net."]);
        assert_eq!(
            sets[&("www.beispiel.de.".to_owned(), "CNAME".to_owned())].1,
            ["beispiel.de."]
        );
        assert_eq!(
            sets[&("_sip._tcp.beispiel.de.".to_owned(), "SRV".to_owned())].1,
            ["5 10 5060 sip.beispiel.de."]
        );
    }
}
