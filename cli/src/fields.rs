//! `csm fields apply FILE`: makes a site's detail-field definitions include a file's.
//!
//! The file (YAML, or JSON, which YAML reads too) lists definitions per entity:
//!
//! ```yaml
//! customer:
//!   - name: Plan
//!     type: { name: SELECT, options: [Free, Pro, Enterprise] }
//!   - name: Region
//!     type: TEXT
//! organization:
//!   - name: Tier
//!     type: { name: SELECT, options: [Bronze, Silver, Gold] }
//! entitlement:
//!   - name: Seats
//!     type: NUMBER
//! ```
//!
//! A field the site lacks is created; one it has with another type or other options is reported,
//! not changed; fields the file does not name are left alone. Running it twice changes nothing.

use crate::config::Connection;
use crate::exit;
use anyhow::Context as _;
use atlassian_csm::types::{CreateDetailFieldRequest, DetailFieldWithConfiguration};
use atlassian_csm::Client;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// What `csm fields` does.
#[derive(clap::Subcommand, Debug)]
pub enum FieldsCommand {
    /// Create the detail fields a YAML or JSON file defines and the site lacks; report those
    /// that differ; change nothing else. Exit code 1 when some differ.
    Apply {
        /// The definitions: `customer:`, `organization:`, `entitlement:`, each a list of
        /// `{name, type}` (`type: TEXT`, or `type: {name: SELECT, options: [...]}`).
        file: PathBuf,
        /// Print what would be created, create nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// The entities that have detail fields.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
enum Entity {
    Customer,
    Organization,
    Entitlement,
}

impl std::fmt::Display for Entity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Customer => "customer",
            Self::Organization => "organization",
            Self::Entitlement => "entitlement",
        })
    }
}

/// One definition as the file writes it.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Definition {
    name: String,
    #[serde(rename = "type")]
    type_: TypeSpec,
}

/// `TEXT`, or `{name: SELECT, options: [...]}` as the API writes it.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum TypeSpec {
    Name(String),
    Full {
        name: String,
        #[serde(default)]
        options: Option<Vec<String>>,
    },
}

impl Definition {
    /// The API's request, checked as the client checks it.
    fn request(&self) -> Result<CreateDetailFieldRequest, atlassian_csm::Error> {
        let (type_name, options) = match &self.type_ {
            TypeSpec::Name(name) => (name.as_str(), None),
            TypeSpec::Full { name, options } => (name.as_str(), options.clone()),
        };
        let json = serde_json::json!({
            "name": self.name,
            "type": { "name": type_name, "options": options },
        });
        let request: CreateDetailFieldRequest =
            serde_json::from_value(json).map_err(|e| atlassian_csm::Error::InvalidInput {
                field: format!("{}.type", self.name),
                message: e.to_string(),
            })?;
        Ok(request)
    }
}

/// Runs a `csm fields` command.
pub async fn run(connection: &Connection, command: FieldsCommand) -> anyhow::Result<ExitCode> {
    let FieldsCommand::Apply { file, dry_run } = command;
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let wanted: BTreeMap<Entity, Vec<Definition>> = serde_norway::from_str(&text)
        .with_context(|| format!("{} is not a list of definitions per entity", file.display()))?;
    // Every definition is checked before anything is sent.
    let mut requests = Vec::new();
    for (entity, definitions) in &wanted {
        for definition in definitions {
            let request = definition
                .request()
                .with_context(|| format!("{entity} field {:?}", definition.name))?;
            requests.push((*entity, request));
        }
    }
    let client = connection.client().await?;
    let mut existing = BTreeMap::new();
    for entity in wanted.keys() {
        existing.insert(*entity, fields_of(&client, *entity).await?);
    }
    let (mut created, mut unchanged, mut differ) = (0, 0, 0);
    for (entity, request) in requests {
        let name = request.name.to_string();
        let found = existing[&entity]
            .iter()
            .find(|field| field.name.trim().eq_ignore_ascii_case(name.trim()));
        match found {
            None if dry_run => {
                created += 1;
                println!("{entity} {name}: would be created");
            }
            None => {
                create(&client, entity, request)
                    .await
                    .with_context(|| format!("creating {entity} field {name:?}"))?;
                created += 1;
                println!("{entity} {name}: created");
            }
            Some(field) => match difference(field, &request) {
                None => {
                    unchanged += 1;
                    println!("{entity} {name}: unchanged");
                }
                Some(difference) => {
                    differ += 1;
                    println!("{entity} {name}: differs, left as is: {difference}");
                }
            },
        }
    }
    let verb = if dry_run { "to create" } else { "created" };
    println!("{created} {verb}, {unchanged} unchanged, {differ} differ");
    Ok(ExitCode::from(if differ > 0 {
        exit::INCOMPLETE
    } else {
        exit::SUCCESS
    }))
}

/// How the site's field differs from the file's, if it does: its type, or its options (order
/// ignored).
fn difference(
    field: &DetailFieldWithConfiguration,
    wanted: &CreateDetailFieldRequest,
) -> Option<String> {
    let (site_type, file_type) = (field.type_.name.to_string(), wanted.type_.name.to_string());
    if site_type != file_type {
        return Some(format!(
            "the site's type is {site_type}, the file's {file_type}"
        ));
    }
    let sorted = |options: &Option<atlassian_csm::types::DetailFieldOptions>| {
        let mut options: Vec<String> = options.as_ref().map(|o| o.0.clone()).unwrap_or_default();
        options.sort();
        options
    };
    let (site, file) = (sorted(&field.type_.options), sorted(&wanted.type_.options));
    (site != file).then(|| format!("the site's options are {site:?}, the file's {file:?}"))
}

async fn fields_of(
    client: &Client,
    entity: Entity,
) -> Result<Vec<DetailFieldWithConfiguration>, atlassian_csm::Error> {
    let fields = match entity {
        Entity::Customer => client.get_all_customer_details().send().await?,
        Entity::Organization => client.get_all_organization_details().send().await?,
        Entity::Entitlement => client.get_all_entitlement_details().send().await?,
    };
    Ok(fields.into_inner().results)
}

async fn create(
    client: &Client,
    entity: Entity,
    request: CreateDetailFieldRequest,
) -> Result<(), atlassian_csm::Error> {
    match entity {
        Entity::Customer => client
            .create_customer_detail()
            .body(request)
            .send()
            .await
            .map(drop),
        Entity::Organization => client
            .create_organization_detail()
            .body(request)
            .send()
            .await
            .map(drop),
        Entity::Entitlement => client
            .create_entitlement_detail()
            .body(request)
            .send()
            .await
            .map(drop),
    }
}
