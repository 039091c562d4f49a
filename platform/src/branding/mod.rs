//! A reseller's brand: name, colors and logo. The logo is stored in the tenant's
//! `assets` table (app nodes stay stateless) and served from its own hostnames.

use crate::audit::{self, Change};
use crate::validation::{FieldErrors, parse_color, parse_name};
use chrono::Utc;
use relabel_tenants::{Brand, Tenancy, Tenant, TenantTx};
use sea_orm::{ActiveModelTrait, DbErr, EntityTrait, Set};
use sha2::{Digest, Sha256};

pub mod asset {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "assets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub kind: String,
        pub content_type: String,
        pub bytes: Vec<u8>,
        pub sha256: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// What a reseller submitted on the branding page.
pub struct BrandingInput {
    pub name: String,
    pub primary_color: String,
    pub accent_color: String,
    /// Uploaded logo bytes, if a file was chosen.
    pub logo: Option<Vec<u8>>,
    pub remove_logo: bool,
}

pub struct ValidBranding {
    name: String,
    primary_color: String,
    accent_color: String,
    logo: Option<(Vec<u8>, &'static str)>,
    remove_logo: bool,
}

/// Recognizes PNG, JPEG and WebP by their magic bytes (the declared type is not
/// trusted). SVG is refused: it can carry script.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

pub fn validate(input: BrandingInput, max_logo_bytes: usize) -> Result<ValidBranding, FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = parse_name(&input.name);
    if name.is_none() {
        errors.add("name", "err.name_length");
    }
    let primary = parse_color(&input.primary_color);
    if primary.is_none() {
        errors.add("primary_color", "err.color");
    }
    let accent = parse_color(&input.accent_color);
    if accent.is_none() {
        errors.add("accent_color", "err.color");
    }
    let logo = match input.logo {
        Some(bytes) if bytes.len() > max_logo_bytes => {
            errors.add("logo", "err.logo_size");
            None
        }
        Some(bytes) => match sniff_image(&bytes) {
            Some(ct) => Some((bytes, ct)),
            None => {
                errors.add("logo", "err.logo_type");
                None
            }
        },
        None => None,
    };
    errors.into_result()?;
    Ok(ValidBranding {
        name: name.unwrap_or_default(),
        primary_color: primary.unwrap_or_default(),
        accent_color: accent.unwrap_or_default(),
        logo,
        remove_logo: input.remove_logo,
    })
}

#[derive(serde::Serialize)]
struct Snapshot<'a> {
    name: &'a str,
    primary_color: &'a str,
    accent_color: &'a str,
    logo_asset_id: Option<&'a str>,
}

fn snapshot<'a>(name: &'a str, brand: &'a Brand) -> Snapshot<'a> {
    Snapshot {
        name,
        primary_color: &brand.primary_color,
        accent_color: &brand.accent_color,
        logo_asset_id: brand.logo_asset_id.as_deref(),
    }
}

/// Applies a validated brand: stores the logo and the audit entry in the tenant,
/// then updates the registry (which drops the resolver caches on every node).
pub async fn apply(
    tenancy: &Tenancy,
    tenant: &Tenant,
    actor: &str,
    ip: Option<&str>,
    valid: ValidBranding,
) -> Result<Tenant, anyhow::Error> {
    let tx = tenancy.begin(tenant).await?;
    let logo_asset_id = match (&valid.logo, valid.remove_logo) {
        (Some((bytes, ct)), _) => Some(store_asset(&tx, "logo", bytes, ct).await?),
        (None, true) => None,
        (None, false) => tenant.brand.logo_asset_id.clone(),
    };
    let brand = Brand {
        primary_color: valid.primary_color,
        accent_color: valid.accent_color,
        logo_asset_id,
    };
    audit::record_tenant(
        &tx,
        Change::new(actor, "branding.update", "branding")
            .ip(ip)
            .before(snapshot(&tenant.name, &tenant.brand))
            .after(snapshot(&valid.name, &brand)),
    )
    .await?;
    tx.commit().await?;
    Ok(tenancy
        .set_branding(&tenant.id, &valid.name, &brand)
        .await?)
}

pub(crate) async fn store_asset(
    tx: &TenantTx,
    kind: &str,
    bytes: &[u8],
    content_type: &str,
) -> Result<String, DbErr> {
    let id = uuid::Uuid::now_v7().simple().to_string();
    asset::ActiveModel {
        id: Set(id.clone()),
        kind: Set(kind.to_owned()),
        content_type: Set(content_type.to_owned()),
        bytes: Set(bytes.to_vec()),
        sha256: Set(hex::encode(Sha256::digest(bytes))),
        created_at: Set(Utc::now()),
    }
    .insert(tx.conn())
    .await?;
    Ok(id)
}

pub async fn load_asset(tx: &TenantTx, id: &str) -> Result<Option<asset::Model>, DbErr> {
    asset::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_images() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(
            sniff_image(b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            None
        );
        assert_eq!(sniff_image(b"GIF89a"), None);
    }

    #[test]
    fn refuses_oversize_and_non_images() {
        let input = |logo: Vec<u8>| BrandingInput {
            name: "A".into(),
            primary_color: "#000000".into(),
            accent_color: "#ffffff".into(),
            logo: Some(logo),
            remove_logo: false,
        };
        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(2048, 0);
        let e = validate(input(big), 1024).err().unwrap();
        assert_eq!(e.iter().next().unwrap().code, "err.logo_size");
        let e = validate(input(b"hello".to_vec()), 1024).err().unwrap();
        assert_eq!(e.iter().next().unwrap().code, "err.logo_type");
    }
}
