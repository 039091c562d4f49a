//! Signed Mark Data files for sunrise registrations (RFC 7848, as issued by the
//! Trademark Clearinghouse): a text header (`Marks:`, `smdID:`, `U-labels:`,
//! `notBefore:`, `notAfter:`) and the base64 `ENCODED SMD` block holding the
//! `<smd:signedMark>` XML with its mark and XML signature.
//!
//! Checked here: the file's structure, that the encoded block is a signed mark
//! (mark, validity and signature elements present, dates agreeing with the
//! header), the validity window, and that the wanted label is one of the mark's
//! labels. The XML signature itself is verified by the registry when the SMD is
//! submitted with `<launch:create>`; relabel does not hold the TMCH trust anchors.

use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};

/// Most bytes an SMD file may have (real ones are a few KiB).
pub const MAX_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Smd {
    pub id: String,
    pub marks: Vec<String>,
    /// Lowercase labels the mark covers.
    pub labels: Vec<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// The encoded block as found (sent to the registry as is).
    pub encoded: String,
}

fn header_date(v: &str) -> Option<DateTime<Utc>> {
    let v = v.trim();
    DateTime::parse_from_rfc3339(v)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// The text of the first element `<*:name ...>text</*:name>` (any prefix).
fn element_text<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = xml.find(&format!(":{name}>"))?;
    let start = open + name.len() + 2;
    let end = xml[start..].find("</")? + start;
    Some(xml[start..end].trim())
}

/// Parses an SMD file. Errors are codes for field `smd`.
pub fn parse(text: &str) -> Result<Smd, &'static str> {
    if text.len() > MAX_BYTES {
        return Err("err.smd_size");
    }
    let mut marks = Vec::new();
    let (mut id, mut labels, mut not_before, mut not_after) = (None, None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("-----BEGIN") {
            break;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim() {
            "Marks" => marks.push(value.trim().to_owned()),
            "smdID" => id = Some(value.trim().to_owned()),
            "U-labels" => {
                labels = Some(
                    value
                        .split(',')
                        .map(|l| l.trim().to_lowercase())
                        .filter(|l| !l.is_empty())
                        .collect::<Vec<_>>(),
                )
            }
            "notBefore" => not_before = header_date(value),
            "notAfter" => not_after = header_date(value),
            _ => {}
        }
    }
    let begin = text
        .find("-----BEGIN ENCODED SMD-----")
        .ok_or("err.smd_format")?;
    let end = text
        .find("-----END ENCODED SMD-----")
        .ok_or("err.smd_format")?;
    if end <= begin {
        return Err("err.smd_format");
    }
    let encoded: String = text[begin + 27..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let (Some(id), Some(labels), Some(not_before), Some(not_after)) =
        (id, labels, not_before, not_after)
    else {
        return Err("err.smd_format");
    };
    if labels.is_empty() || marks.is_empty() || not_after <= not_before {
        return Err("err.smd_format");
    }
    let xml = base64::engine::general_purpose::STANDARD
        .decode(&encoded)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or("err.smd_encoding")?;
    // A signed mark: the root, the mark, its validity and an XML signature.
    let is_signed_mark = xml.contains(":signedMark")
        && xml.contains(":mark")
        && xml.contains("Signature")
        && element_text(&xml, "id") == Some(id.as_str());
    if !is_signed_mark {
        return Err("err.smd_signed_mark");
    }
    let xml_nb = element_text(&xml, "notBefore").and_then(header_date);
    let xml_na = element_text(&xml, "notAfter").and_then(header_date);
    if xml_nb != Some(not_before) || xml_na != Some(not_after) {
        return Err("err.smd_signed_mark");
    }
    Ok(Smd {
        id,
        marks,
        labels,
        not_before,
        not_after,
        encoded,
    })
}

/// The SMD is valid at `now` and covers `label` (Unicode, lowercase).
pub fn check(smd: &Smd, label: &str, now: DateTime<Utc>) -> Result<(), &'static str> {
    if now < smd.not_before {
        return Err("err.smd_not_yet_valid");
    }
    if now >= smd.not_after {
        return Err("err.smd_expired");
    }
    if !smd.labels.iter().any(|l| l == label) {
        return Err("err.smd_label");
    }
    Ok(())
}

/// Builds an SMD file (for the demo and tests): the header and a signed-mark XML
/// with a placeholder signature value.
pub fn sample(
    id: &str,
    mark: &str,
    labels: &[&str],
    nb: DateTime<Utc>,
    na: DateTime<Utc>,
) -> String {
    let fmt = |d: DateTime<Utc>| d.format("%Y-%m-%dT%H:%M:%S.000Z").to_string();
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<smd:signedMark xmlns:smd="urn:ietf:params:xml:ns:signedMark-1.0" id="_{id}">
  <smd:id>{id}</smd:id>
  <smd:issuerInfo issuerID="2"><smd:org>Example Inc.</smd:org><smd:email>support@example.tld</smd:email></smd:issuerInfo>
  <smd:notBefore>{nb}</smd:notBefore>
  <smd:notAfter>{na}</smd:notAfter>
  <mark:mark xmlns:mark="urn:ietf:params:xml:ns:mark-1.0">
    <mark:trademark><mark:id>{id}-1</mark:id><mark:markName>{mark}</mark:markName></mark:trademark>
  </mark:mark>
  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/><SignatureValue>c2FtcGxl</SignatureValue></Signature>
</smd:signedMark>
"#,
        nb = fmt(nb),
        na = fmt(na),
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(xml);
    let wrapped: Vec<String> = encoded
        .as_bytes()
        .chunks(72)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!(
        "Marks: {mark}\nsmdID: {id}\nU-labels: {}\nnotBefore: {}\nnotAfter: {}\n-----BEGIN ENCODED SMD-----\n{}\n-----END ENCODED SMD-----\n",
        labels.join(", "),
        fmt(nb),
        fmt(na),
        wrapped.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn smd_files_are_checked() {
        let now = Utc::now();
        let file = sample(
            "0000001751376056503931-65535",
            "Kiez Bäcker",
            &["kiezbaecker", "kiez-baecker"],
            now - Duration::days(10),
            now + Duration::days(300),
        );
        let smd = parse(&file).unwrap();
        assert_eq!(smd.labels, ["kiezbaecker", "kiez-baecker"]);
        assert_eq!(check(&smd, "kiez-baecker", now), Ok(()));
        assert_eq!(check(&smd, "other", now), Err("err.smd_label"));
        assert_eq!(
            check(&smd, "kiezbaecker", now + Duration::days(400)),
            Err("err.smd_expired")
        );
        assert_eq!(
            check(&smd, "kiezbaecker", now - Duration::days(20)),
            Err("err.smd_not_yet_valid")
        );
        // Broken structure, encoding, or header and XML disagreeing.
        assert_eq!(parse("hello"), Err("err.smd_format"));
        let bad_b64 = file.replace(
            "-----BEGIN ENCODED SMD-----\n",
            "-----BEGIN ENCODED SMD-----\n!!!",
        );
        assert_eq!(parse(&bad_b64), Err("err.smd_encoding"));
        let other_id = file.replace("smdID: 0000001751376056503931-65535", "smdID: 42");
        assert_eq!(parse(&other_id), Err("err.smd_signed_mark"));
        let shifted = sample("7", "M", &["m"], now, now + Duration::days(1)).replacen(
            &(now + Duration::days(1))
                .format("%Y-%m-%dT%H:%M:%S.000Z")
                .to_string(),
            &(now + Duration::days(2))
                .format("%Y-%m-%dT%H:%M:%S.000Z")
                .to_string(),
            1,
        );
        assert_eq!(parse(&shifted), Err("err.smd_signed_mark"));
    }
}
