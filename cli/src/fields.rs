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
//! Every definition is checked before anything is sent; the dry run prints the plan the real run
//! carries out, and a run that stops half-way says what it created.

use crate::config::Connection;
use crate::exit;
use crate::terminal::{say, tell, Shown};
use anyhow::Context as _;
use atlassian_csm::bulk::{CustomerDetailFields, RecordValidator};
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
                field: atlassian_csm::FieldPath::from(self.name.as_str()).field("type"),
                message: e.to_string(),
            })?;
        Ok(request)
    }
}

/// What `fields apply` does with one definition of the file, decided before anything is sent:
/// the dry run prints this plan, the real run carries it out.
enum Step {
    Create(CreateDetailFieldRequest),
    Unchanged,
    Differs(String),
}

/// Runs a `csm fields` command.
pub async fn run(connection: &Connection, command: FieldsCommand) -> anyhow::Result<ExitCode> {
    let FieldsCommand::Apply { file, dry_run } = command;
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let wanted: BTreeMap<Entity, Vec<Definition>> = serde_norway::from_str(&text)
        .with_context(|| format!("{} is not a list of definitions per entity", file.display()))?;
    // Every definition is checked, as the client would check it, before anything is sent (or
    // read): one that would be refused stops the command with nothing done.
    let (requests, invalid) = checked(&wanted);
    crate::summary::set("definitions", invalid.len() + requests.len());
    crate::summary::set("invalid", invalid.len());
    if !invalid.is_empty() {
        for reason in &invalid {
            tell!("{}: {}", file.display(), Shown(reason));
        }
        tell!(
            "csm: {} of {} definitions are invalid; nothing was sent",
            invalid.len(),
            invalid.len() + requests.len()
        );
        return Ok(ExitCode::from(exit::INVALID_INPUT));
    }
    let client = connection.client().await?;
    let plan = plan(&client, requests).await?;
    let (mut created, mut unchanged, mut differ) = (Vec::new(), 0, 0);
    let to_create = plan
        .iter()
        .filter(|(_, _, step)| matches!(step, Step::Create(_)))
        .count();
    for (entity, name, step) in plan {
        let name = Shown(name);
        match step {
            Step::Create(_) if dry_run => say!("{entity} {name}: would be created"),
            Step::Create(request) => {
                if let Err(error) = create(&client, entity, request).await {
                    let done = match created.as_slice() {
                        [] => "none was created before it".to_string(),
                        names => format!("{} created before it: {}", names.len(), names.join(", ")),
                    };
                    let left = to_create - created.len() - 1;
                    tell!("csm: creating {entity} field {name} failed; {done}; {left} not sent");
                    crate::summary::set("created", created.len());
                    crate::summary::set("not_sent", left);
                    return Err(anyhow::Error::new(error)
                        .context(format!("creating {entity} field {name}")));
                }
                say!("{entity} {name}: created");
                created.push(format!("{entity} {name}"));
            }
            Step::Unchanged => {
                unchanged += 1;
                say!("{entity} {name}: unchanged");
            }
            Step::Differs(difference) => {
                differ += 1;
                say!(
                    "{entity} {name}: differs, left as is: {}",
                    Shown(&difference)
                );
            }
        }
    }
    let (count, verb) = if dry_run {
        (to_create, "to create")
    } else {
        (created.len(), "created")
    };
    crate::summary::set("dry_run", dry_run);
    crate::summary::set(if dry_run { "to_create" } else { "created" }, count);
    crate::summary::set("unchanged", unchanged);
    crate::summary::set("differ", differ);
    say!("{count} {verb}, {unchanged} unchanged, {differ} differ");
    if dry_run {
        say!("dry run: nothing was sent");
    }
    Ok(ExitCode::from(if differ > 0 {
        exit::INCOMPLETE
    } else {
        exit::SUCCESS
    }))
}

type Requests = Vec<(Entity, CreateDetailFieldRequest)>;

/// Every definition as the API's request, checked against the rules the client checks before
/// sending (names: length, characters, reserved words, unique per entity, case ignored); the
/// invalid ones, each named with its entity, place and reason.
fn checked(wanted: &BTreeMap<Entity, Vec<Definition>>) -> (Requests, Vec<String>) {
    let (mut requests, mut invalid) = (Vec::new(), Vec::new());
    for (entity, definitions) in wanted {
        let mut validator = RecordValidator::<CustomerDetailFields>::new();
        for (index, definition) in definitions.iter().enumerate() {
            let checked = definition
                .request()
                .and_then(|request| validator.check(index, &request).map(|()| request));
            match checked {
                Ok(request) => requests.push((*entity, request)),
                Err(error) => invalid.push(format!(
                    "{entity} definition {} ({:?}): {}",
                    index + 1,
                    definition.name,
                    reason_of(&error)
                )),
            }
        }
    }
    (requests, invalid)
}

/// What is wrong, without the client's "nothing was sent", which the command says once.
fn reason_of(error: &atlassian_csm::Error) -> String {
    match error {
        atlassian_csm::Error::InvalidInput { field, message } => match field.segments().last() {
            Some(atlassian_csm::PathSegment::Field(name)) => format!("{name}: {message}"),
            _ => format!("{field}: {message}"),
        },
        other => other.to_string(),
    }
}

/// What to do with each definition, given the site's fields.
async fn plan(
    client: &Client,
    requests: Requests,
) -> Result<Vec<(Entity, String, Step)>, atlassian_csm::Error> {
    let mut existing = BTreeMap::new();
    for (entity, _) in &requests {
        if !existing.contains_key(entity) {
            existing.insert(*entity, fields_of(client, *entity).await?);
        }
    }
    Ok(requests
        .into_iter()
        .map(|(entity, request)| {
            let name = request.name.to_string();
            let found = existing[&entity]
                .iter()
                .find(|field| field.name.trim().eq_ignore_ascii_case(name.trim()));
            let step = match found {
                None => Step::Create(request),
                Some(field) => match difference(field, &request) {
                    None => Step::Unchanged,
                    Some(difference) => Step::Differs(difference),
                },
            };
            (entity, name, step)
        })
        .collect())
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
