//! Bank statement import (Y6): CAMT.053 (versions .02 to .08) parsed into lines,
//! matched to open items by invoice or customer number in the reference, booked
//! when matched, kept for review otherwise. Return debits in the statement reopen
//! their items. Each line's problem (a malformed amount, an unknown currency) is
//! noted on the line; the valid lines are imported all the same.

use super::{Matcher, PaymentInput, bank_import, bank_line};
use crate::billing::{self, BillingError, money};
use crate::customers::customer;
use crate::validation::FieldErrors;
use chrono::Utc;
use relabel_tenants::TenantTx;
use roxmltree::Node;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

/// One transaction of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub position: usize,
    /// What identifies the entry however it arrives: the bank's reference
    /// (unique per account), else its date, amount, currency, direction,
    /// counterparty account and reference (`h:` and a hash of them), so the
    /// same transfer in an overlapping statement is recognised too.
    pub entry_ref: String,
    pub booked_on: Option<String>,
    /// Minor units, or why the amount could not be read.
    pub amount: Result<i64, String>,
    pub currency: String,
    /// credit | debit
    pub direction: &'static str,
    pub reference: String,
    pub counterparty: String,
    pub iban: String,
    pub end_to_end_id: Option<String>,
    pub return_reason: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Statement {
    pub id: String,
    pub iban: String,
    pub lines: Vec<Line>,
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// The text at a path of child names.
fn at(n: Node, path: &[&str]) -> Option<String> {
    let mut cur = n;
    for p in path {
        cur = child(cur, p)?;
    }
    cur.text().map(|t| t.trim().to_owned())
}

fn children<'a, 'i>(n: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// A decimal amount with at most two places, in minor units.
fn amount(text: Option<&str>) -> Result<i64, String> {
    let t = text.unwrap_or("").trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty()
        || whole.len() > 12
        || frac.len() > 2
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(format!(
            "malformed amount \"{}\"",
            t.chars().take(40).collect::<String>()
        ));
    }
    let whole: i64 = whole
        .parse()
        .map_err(|_| format!("malformed amount \"{t}\""))?;
    let frac: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
    Ok(whole * 100 + frac)
}

/// Parses a CAMT.053 statement. Whole-file problems are an error (not XML, not a
/// bank-to-customer statement); line problems stay on the lines.
pub fn parse(xml: &str) -> Result<Statement, &'static str> {
    let doc = roxmltree::Document::parse(xml).map_err(|_| "err.camt_xml")?;
    let root = doc.root_element();
    let ns = root.tag_name().namespace().unwrap_or("");
    if !ns.starts_with("urn:iso:std:iso:20022:tech:xsd:camt.053.") {
        return Err("err.camt_kind");
    }
    let stmt_root = child(root, "BkToCstmrStmt").ok_or("err.camt_kind")?;
    let mut lines = Vec::new();
    let mut first_id = String::new();
    let mut first_iban = String::new();
    for stmt in children(stmt_root, "Stmt") {
        let sid = at(stmt, &["Id"]).unwrap_or_default();
        let iban = at(stmt, &["Acct", "Id", "IBAN"]).unwrap_or_default();
        if first_id.is_empty() {
            first_id = sid.clone();
            first_iban = iban.clone();
        }
        for ntry in children(stmt, "Ntry") {
            let amt = child(ntry, "Amt");
            let entry_amount = amount(amt.and_then(|a| a.text()));
            let entry_ccy = amt
                .and_then(|a| a.attribute("Ccy"))
                .unwrap_or("")
                .to_owned();
            let direction = if at(ntry, &["CdtDbtInd"]).as_deref() == Some("DBIT") {
                "debit"
            } else {
                "credit"
            };
            let booked_on = at(ntry, &["BookgDt", "Dt"])
                .or_else(|| at(ntry, &["BookgDt", "DtTm"]).map(|d| d.chars().take(10).collect()));
            let entry_ref = at(ntry, &["AcctSvcrRef"]).filter(|r| !r.is_empty());
            let txs: Vec<Node> = child(ntry, "NtryDtls")
                .map(|d| children(d, "TxDtls").collect())
                .unwrap_or_default();
            let single = txs.len() <= 1;
            let mut push = |tx: Option<Node>, k: usize| {
                let tx_amt = tx.and_then(|t| {
                    child(t, "Amt").or_else(|| {
                        child(t, "AmtDtls")
                            .and_then(|a| child(a, "TxAmt"))
                            .and_then(|a| child(a, "Amt"))
                    })
                });
                let (amount, currency) = match tx_amt {
                    Some(a) if !single => (
                        amount(a.text()),
                        a.attribute("Ccy").unwrap_or("").to_owned(),
                    ),
                    _ => (entry_amount.clone(), entry_ccy.clone()),
                };
                let (party, account) = if direction == "credit" {
                    ("Dbtr", "DbtrAcct")
                } else {
                    ("Cdtr", "CdtrAcct")
                };
                let reference = tx
                    .and_then(|t| child(t, "RmtInf"))
                    .map(|r| {
                        children(r, "Ustrd")
                            .filter_map(|u| u.text())
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .or_else(|| at(ntry, &["AddtlNtryInf"]))
                    .unwrap_or_default();
                let counterparty = tx
                    .and_then(|t| {
                        at(t, &["RltdPties", party, "Nm"])
                            .or_else(|| at(t, &["RltdPties", party, "Pty", "Nm"]))
                    })
                    .unwrap_or_default();
                let iban = tx
                    .and_then(|t| at(t, &["RltdPties", account, "Id", "IBAN"]))
                    .unwrap_or_default();
                let entry_ref = match &entry_ref {
                    Some(r) if single => r.clone(),
                    Some(r) => format!("{r}:{}", k + 1),
                    None => content_key(&[
                        booked_on.as_deref().unwrap_or_default(),
                        &format!("{amount:?}"),
                        &currency,
                        direction,
                        &iban,
                        &reference,
                    ]),
                };
                lines.push(Line {
                    position: lines.len() + 1,
                    entry_ref,
                    booked_on: booked_on.clone(),
                    amount,
                    currency,
                    direction,
                    reference: reference.chars().take(500).collect(),
                    counterparty: counterparty.chars().take(140).collect(),
                    iban,
                    end_to_end_id: tx
                        .and_then(|t| at(t, &["Refs", "EndToEndId"]))
                        .filter(|r| !r.is_empty() && r != "NOTPROVIDED"),
                    return_reason: tx.and_then(|t| at(t, &["RtrInf", "Rsn", "Cd"])),
                });
            };
            if txs.is_empty() {
                push(None, 0);
            } else {
                for (k, t) in txs.iter().enumerate() {
                    push(Some(*t), k);
                }
            }
        }
    }
    Ok(Statement {
        id: first_id,
        iban: first_iban,
        lines,
    })
}

/// The identity of an entry without the bank's reference: a hash of what it
/// says (`h:` and 24 hex digits).
fn content_key(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("h:{hex}")
}

/// What a line came to.
fn line_row(
    import_id: &str,
    l: &Line,
    status: &str,
    error: Option<String>,
) -> bank_line::ActiveModel {
    bank_line::ActiveModel {
        id: Set(billing::new_id()),
        import_id: Set(import_id.to_owned()),
        position: Set(i32::try_from(l.position).unwrap_or(i32::MAX)),
        entry_ref: Set(l.entry_ref.clone()),
        booked_on: Set(l.booked_on.clone()),
        amount_minor: Set(*l.amount.as_ref().unwrap_or(&0)),
        currency: Set(l.currency.chars().take(3).collect()),
        direction: Set(l.direction.to_owned()),
        reference: Set(l.reference.clone()),
        counterparty: Set(l.counterparty.clone()),
        iban: Set(l.iban.clone()),
        return_reason: Set(l.return_reason.clone()),
        status: Set(status.to_owned()),
        customer_id: Set(None),
        invoice_id: Set(None),
        payment_id: Set(None),
        error: Set(error),
    }
}

/// The external id of a statement line: booked once, however often imported.
pub fn external_id(iban: &str, entry_ref: &str) -> String {
    format!("camt:{iban}:{entry_ref}")
}

/// Imports a statement in the caller's transaction: every line is stored with
/// what became of it (booked, returned, review, error, ignored).
pub async fn import(
    tx: &TenantTx,
    file_name: &str,
    xml: &str,
    actor: &str,
) -> Result<bank_import::Model, BillingError> {
    let st = parse(xml).map_err(|code| {
        let mut e = FieldErrors::default();
        e.add("file", code);
        BillingError::Invalid(e)
    })?;
    let matcher = Matcher::load(tx).await?;
    let currencies: HashMap<String, String> = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::Currency)
        .into_tuple()
        .all(tx.conn())
        .await?
        .into_iter()
        .collect();
    let id = billing::new_id();
    let known = |c: &str| {
        crate::customers::fields::CURRENCIES
            .iter()
            .any(|(k, _)| *k == c)
    };
    // Entries seen before (booked, returned, waiting for review or ignored) and
    // in this file so far: each is taken once, however often it arrives.
    let refs: Vec<&str> = st.lines.iter().map(|l| l.entry_ref.as_str()).collect();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for chunk in refs.chunks(500) {
        let known: Vec<String> = bank_line::Entity::find()
            .select_only()
            .column(bank_line::Column::EntryRef)
            .filter(bank_line::Column::EntryRef.is_in(chunk.iter().copied()))
            .filter(bank_line::Column::Status.is_not_in(["error", "duplicate"]))
            .into_tuple()
            .all(tx.conn())
            .await?;
        seen.extend(known);
    }
    let before = seen.clone();
    let (mut booked, mut review, mut errors) = (0, 0, 0);
    let mut rows = Vec::with_capacity(st.lines.len());
    for l in &st.lines {
        if l.amount.is_ok() && !seen.insert(l.entry_ref.clone()) {
            let why = if before.contains(&l.entry_ref) {
                "already imported"
            } else {
                "twice in this file"
            };
            rows.push(line_row(&id, l, "duplicate", Some(why.into())));
            continue;
        }
        let amount = match (&l.amount, known(&l.currency)) {
            (Err(why), _) => {
                errors += 1;
                rows.push(line_row(&id, l, "error", Some(why.clone())));
                continue;
            }
            (Ok(_), false) => {
                errors += 1;
                let why = format!(
                    "unknown currency \"{}\"",
                    l.currency.chars().take(8).collect::<String>()
                );
                rows.push(line_row(&id, l, "error", Some(why)));
                continue;
            }
            (Ok(a), true) => *a,
        };
        if l.direction == "debit" {
            // A return debit of one of our collections reopens its item.
            let row = match (&l.end_to_end_id, &l.return_reason) {
                (Some(e2e), Some(reason)) => {
                    match super::return_debit(tx, e2e, reason, actor).await {
                        Ok(item) => {
                            booked += 1;
                            let mut r = line_row(&id, l, "returned", None);
                            r.customer_id = Set(Some(item.customer_id));
                            r.invoice_id = Set(Some(item.invoice_id));
                            r
                        }
                        Err(BillingError::Db(e)) => return Err(e.into()),
                        Err(e) => {
                            review += 1;
                            line_row(&id, l, "review", Some(e.to_string()))
                        }
                    }
                }
                _ => line_row(&id, l, "ignored", Some("outgoing payment".into())),
            };
            rows.push(row);
            continue;
        }
        let Some(m) = matcher.find(&l.reference) else {
            review += 1;
            rows.push(line_row(&id, l, "review", None));
            continue;
        };
        if currencies.get(&m.customer_id).map(String::as_str) != Some(l.currency.as_str()) {
            review += 1;
            let mut r = line_row(
                &id,
                l,
                "review",
                Some("currency differs from the account: enter the rate".into()),
            );
            r.customer_id = Set(Some(m.customer_id));
            r.invoice_id = Set(m.invoice_id);
            rows.push(r);
            continue;
        }
        let input = PaymentInput {
            customer_id: m.customer_id.clone(),
            amount: money::decimal(amount),
            currency: l.currency.clone(),
            method: "transfer".into(),
            reference: l.reference.clone(),
            invoice_id: m.invoice_id.clone().unwrap_or_default(),
            booked_on: l.booked_on.clone().unwrap_or_default(),
            external_id: Some(external_id(&st.iban, &l.entry_ref)),
            ..Default::default()
        };
        let mut r = match super::record(tx, &input, actor).await {
            Ok(p) => {
                booked += 1;
                let mut r = line_row(&id, l, "booked", None);
                r.payment_id = Set(Some(p.id));
                r
            }
            Err(BillingError::Refused("already booked")) => {
                line_row(&id, l, "ignored", Some("already booked".into()))
            }
            Err(BillingError::Db(e)) => return Err(e.into()),
            Err(e) => {
                review += 1;
                line_row(&id, l, "review", Some(e.to_string()))
            }
        };
        r.customer_id = Set(Some(m.customer_id));
        r.invoice_id = Set(m.invoice_id);
        rows.push(r);
    }
    let n = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
    let imp = bank_import::ActiveModel {
        id: Set(id),
        file_name: Set(file_name.chars().take(200).collect()),
        statement_id: Set(st.id.chars().take(200).collect()),
        lines: Set(n(st.lines.len())),
        booked: Set(n(booked)),
        review: Set(n(review)),
        errors: Set(n(errors)),
        actor: Set(actor.to_owned()),
        created_at: Set(Utc::now()),
    }
    .insert(tx.conn())
    .await?;
    for chunk in rows.chunks(500) {
        bank_line::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(tx.conn())
            .await?;
    }
    tx.touch(billing::TOPIC);
    Ok(imp)
}

/// How many lines of import `import_id` were entries taken before (or twice
/// in the file), and so left alone.
pub async fn duplicates_of(tx: &TenantTx, import_id: &str) -> Result<u64, sea_orm::DbErr> {
    use sea_orm::PaginatorTrait;
    bank_line::Entity::find()
        .filter(bank_line::Column::ImportId.eq(import_id))
        .filter(bank_line::Column::Status.eq("duplicate"))
        .count(tx.conn())
        .await
}

/// Lines waiting for staff, oldest first.
pub async fn review_lines(tx: &TenantTx) -> Result<Vec<bank_line::Model>, sea_orm::DbErr> {
    bank_line::Entity::find()
        .filter(bank_line::Column::Status.eq("review"))
        .order_by_asc(bank_line::Column::ImportId)
        .order_by_asc(bank_line::Column::Position)
        .all(tx.conn())
        .await
}

/// Books a review line to the customer (and item) staff chose, at `rate` when the
/// currencies differ; or (`customer_id` empty) marks it ignored.
pub async fn resolve_line(
    tx: &TenantTx,
    line_id: &str,
    customer_id: &str,
    invoice_id: &str,
    rate: &str,
    actor: &str,
) -> Result<bank_line::Model, BillingError> {
    let line = bank_line::Entity::find_by_id(line_id.to_owned())
        .filter(bank_line::Column::Status.eq("review"))
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)?;
    let mut m: bank_line::ActiveModel = line.clone().into();
    if customer_id.trim().is_empty() {
        m.status = Set("ignored".into());
        m.error = Set(Some(format!("ignored by {actor}")));
        return Ok(m.update(tx.conn()).await?);
    }
    let p = super::record(
        tx,
        &PaymentInput {
            customer_id: customer_id.trim().to_owned(),
            amount: money::decimal(line.amount_minor),
            currency: line.currency.clone(),
            rate: rate.to_owned(),
            method: "transfer".into(),
            reference: line.reference.clone(),
            invoice_id: invoice_id.trim().to_owned(),
            booked_on: line.booked_on.clone().unwrap_or_default(),
            external_id: Some(format!("camt-line:{}", line.id)),
            ..Default::default()
        },
        actor,
    )
    .await?;
    m.status = Set("booked".into());
    m.customer_id = Set(Some(p.customer_id.clone()));
    m.invoice_id = Set(p.invoice_id.clone());
    m.payment_id = Set(Some(p.id));
    m.error = Set(None);
    Ok(m.update(tx.conn()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAMT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-30T08:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>S-1</Id><CreDtTm>2026-11-30T08:00:00</CreDtTm>
   <Acct><Id><IBAN>DE02120300000000202051</IBAN></Id></Acct>
   <Ntry>
    <Amt Ccy="EUR">119.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-11-29</Dt></BookgDt><ValDt><Dt>2026-11-29</Dt></ValDt>
    <AcctSvcrRef>REF-1</AcctSvcrRef>
    <BkTxCd/>
    <NtryDtls><TxDtls>
      <RltdPties><Dbtr><Nm>Kim Kunde</Nm></Dbtr><DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct></RltdPties>
      <RmtInf><Ustrd>RE-2026-000001</Ustrd><Ustrd>danke</Ustrd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">12,5</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-11-29</Dt></BookgDt><ValDt><Dt>2026-11-29</Dt></ValDt><BkTxCd/>
   </Ntry>
   <Ntry>
    <Amt Ccy="XYZ">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-11-29</Dt></BookgDt><ValDt><Dt>2026-11-29</Dt></ValDt><BkTxCd/>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">23.80</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-11-30</Dt></BookgDt><ValDt><Dt>2026-11-30</Dt></ValDt>
    <AcctSvcrRef>REF-4</AcctSvcrRef><BkTxCd/>
    <NtryDtls><TxDtls>
      <Refs><EndToEndId>RE-2026-000002-1</EndToEndId></Refs>
      <RtrInf><Rsn><Cd>AM04</Cd></Rsn></RtrInf>
    </TxDtls></NtryDtls>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>"#;

    #[test]
    fn statements_parse_with_errors_per_line() {
        let st = parse(CAMT).unwrap();
        assert_eq!(st.id, "S-1");
        assert_eq!(st.lines.len(), 4);
        let l = &st.lines[0];
        assert_eq!(l.amount, Ok(11_900));
        assert_eq!(l.currency, "EUR");
        assert_eq!(l.reference, "RE-2026-000001 danke");
        assert_eq!(l.counterparty, "Kim Kunde");
        assert_eq!(l.entry_ref, "REF-1");
        assert_eq!(l.booked_on.as_deref(), Some("2026-11-29"));
        assert!(st.lines[1].amount.as_ref().unwrap_err().contains("12,5"));
        // No bank reference: identified by what the entry says.
        assert!(st.lines[1].entry_ref.starts_with("h:"));
        assert_ne!(st.lines[1].entry_ref, st.lines[2].entry_ref);
        assert_eq!(
            parse(CAMT).unwrap().lines[1].entry_ref,
            st.lines[1].entry_ref
        );
        assert_eq!(st.lines[2].currency, "XYZ");
        let r = &st.lines[3];
        assert_eq!(r.direction, "debit");
        assert_eq!(r.end_to_end_id.as_deref(), Some("RE-2026-000002-1"));
        assert_eq!(r.return_reason.as_deref(), Some("AM04"));
        assert_eq!(parse("not xml").unwrap_err(), "err.camt_xml");
        assert_eq!(
            parse("<Document xmlns=\"urn:x\"/>").unwrap_err(),
            "err.camt_kind"
        );
    }
}
