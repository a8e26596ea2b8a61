//! Profiles: the sites an admin works with, named in `$XDG_CONFIG_HOME/csm/config.toml`
//! (`~/.config/csm/config.toml` when it is not set) and chosen with `--profile` or `CSM_PROFILE`:
//!
//! ```toml
//! [profile.prod]
//! cloud_id = "a436116f-02ce-4520-8fbb-7301462a1674"
//! email = "admin@acme.example"
//! token_command = "pass show csm/prod"
//!
//! [profile.sandbox]
//! site = "acme-sandbox"
//! email = "admin@acme.example"
//! token_command = "op read op://it/csm-sandbox/token"
//! ```
//!
//! A token is never kept in the file: `token_command` is run (by `sh -c`, as git's credential
//! helpers and AWS's `credential_process` are) and what it prints is the token (Basic with
//! `email`, bearer without); or the environment gives it as without a profile. A file others can
//! write is refused: whoever can write it chooses the command that is run.

use crate::exit::ConfigError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Keys that would hold a secret in clear.
const SECRET_KEYS: [&str; 5] = ["api_token", "token", "access_token", "password", "secret"];

/// Most bytes a token command may print.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// One site of the configuration file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The site's cloud id.
    pub cloud_id: Option<String>,
    /// The site (`acme` or `acme.atlassian.net`).
    pub site: Option<String>,
    /// Another API root.
    pub base_url: Option<String>,
    /// The account's email: the token is an API token, sent as Basic.
    pub email: Option<String>,
    /// A command printing the token.
    pub token_command: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    profile: BTreeMap<String, Profile>,
}

/// Where the configuration file is.
pub fn config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("csm").join("config.toml"))
}

/// The profile `name` of the configuration file.
pub fn load(name: &str) -> Result<Profile, ConfigError> {
    let path = config_path().ok_or_else(|| {
        ConfigError(format!(
            "profile {name:?}: neither XDG_CONFIG_HOME nor HOME is set"
        ))
    })?;
    let shown = path.display();
    let metadata = std::fs::metadata(&path)
        .map_err(|e| ConfigError(format!("profile {name:?}: cannot read {shown}: {e}")))?;
    refuse_if_others_can_write(&metadata, &shown.to_string())?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| ConfigError(format!("profile {name:?}: cannot read {shown}: {e}")))?;
    let raw: toml::Table = toml::from_str(&text)
        .map_err(|e| ConfigError(format!("{shown} is not valid TOML: {e}")))?;
    for (profile, table) in raw
        .get("profile")
        .and_then(toml::Value::as_table)
        .into_iter()
        .flatten()
    {
        if let Some(key) = table
            .as_table()
            .and_then(|t| t.keys().find(|k| SECRET_KEYS.contains(&k.as_str())))
        {
            return Err(ConfigError(format!(
                "{shown}: profile {profile:?} keeps a secret in clear ({key}); set token_command \
                 (e.g. \"pass show csm/{profile}\") or give the token in the environment"
            )));
        }
    }
    let file: ConfigFile =
        toml::from_str(&text).map_err(|e| ConfigError(format!("{shown}: {e}")))?;
    match file.profile.get(name) {
        Some(profile) => Ok(profile.clone()),
        None => {
            let known: Vec<&str> = file.profile.keys().map(String::as_str).collect();
            Err(ConfigError(format!(
                "no profile {name:?} in {shown} (it has: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )))
        }
    }
}

#[cfg(unix)]
fn refuse_if_others_can_write(
    metadata: &std::fs::Metadata,
    shown: &str,
) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode();
    if mode & 0o022 != 0 {
        return Err(ConfigError(format!(
            "{shown} can be written by others (mode {:o}), who could choose the command csm runs \
             for a token; refused: chmod go-w {shown}",
            mode & 0o777
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_if_others_can_write(_: &std::fs::Metadata, _: &str) -> Result<(), ConfigError> {
    Ok(())
}

impl Profile {
    /// The token its `token_command` prints (trailing line breaks cut), if it has one.
    pub fn token(&self, name: &str) -> Result<Option<String>, ConfigError> {
        let Some(command) = self.token_command.as_deref() else {
            return Ok(None);
        };
        let output = shell(command)
            .stdin(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| {
                ConfigError(format!(
                    "profile {name:?}: cannot run its token_command: {e}"
                ))
            })?;
        if !output.status.success() {
            return Err(ConfigError(format!(
                "profile {name:?}: its token_command failed ({}); nothing was sent",
                output.status
            )));
        }
        if output.stdout.len() > MAX_TOKEN_BYTES {
            return Err(ConfigError(format!(
                "profile {name:?}: its token_command printed more than {MAX_TOKEN_BYTES} bytes"
            )));
        }
        let token = String::from_utf8(output.stdout).map_err(|_| {
            ConfigError(format!(
                "profile {name:?}: its token_command printed no UTF-8 text"
            ))
        })?;
        let token = token.trim_end_matches(['\n', '\r']).to_string();
        if token.trim().is_empty() {
            return Err(ConfigError(format!(
                "profile {name:?}: its token_command printed no token"
            )));
        }
        crate::terminal::keep_secret(&token);
        Ok(Some(token))
    }
}

#[cfg(unix)]
fn shell(command: &str) -> std::process::Command {
    let mut shell = std::process::Command::new("sh");
    shell.arg("-c").arg(command);
    shell
}

#[cfg(not(unix))]
fn shell(command: &str) -> std::process::Command {
    let mut shell = std::process::Command::new("cmd");
    shell.arg("/C").arg(command);
    shell
}
